// The served report's feedback form (the standalone report file has no script).
'use strict';
const form = document.getElementById('feedback');
const token = (document.cookie.split('; ').find((c) => c.startsWith('fakelens_csrf=')) || '').split('=')[1] || '';
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(form);
  const body = {clarity: +f.get('clarity'), helpfulness: +f.get('helpfulness'),
                agree: f.get('agree') === '' ? null : f.get('agree') === 'true', comment: f.get('comment')};
  const r = await fetch('/v1/analyses/' + form.dataset.analysis + '/feedback', {
    method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token}, body: JSON.stringify(body)});
  document.getElementById('feedback-status').textContent = r.ok ? 'thank you' : 'could not send (' + r.status + ')';
});
