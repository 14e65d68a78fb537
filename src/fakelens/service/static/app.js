// fakelens page: uploads with per-file progress, the history list (rendered by the server, swapped in
// here), opening and deleting analyses. Unsafe requests carry the CSRF token of the page.
'use strict';
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (sel) => document.querySelector(sel);
const historyBody = $('#history');
let refreshTimer = null;

async function refresh() {
  const params = new URLSearchParams(new FormData($('#filters')));
  const r = await fetch('/history?' + params);
  if (r.ok) historyBody.innerHTML = await r.text();
  clearTimeout(refreshTimer);
  if (historyBody.querySelector('tr[data-status="queued"], tr[data-status="running"]')) refreshTimer = setTimeout(refresh, 1500);
}

function upload(file) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = file.name;
  const bar = document.createElement('progress');
  bar.max = 100; bar.value = 0;
  bar.setAttribute('aria-label', 'upload of ' + file.name);
  const status = document.createElement('span');
  status.className = 'status';
  status.textContent = 'uploading';
  li.append(name, bar, status);
  $('#uploads').append(li);

  const body = new FormData();
  body.append('file', file);
  const xhr = new XMLHttpRequest();  // fetch() reports no upload progress
  xhr.open('POST', '/v1/analyses');
  xhr.setRequestHeader('X-CSRF-Token', csrf);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
  xhr.onerror = () => { status.textContent = 'upload failed (network)'; };
  xhr.onload = () => {
    let reply = {};
    try { reply = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status !== 202) { status.textContent = 'refused: ' + (reply.detail || xhr.status); li.classList.add('error'); return; }
    bar.value = 100;
    status.textContent = 'queued';
    li.dataset.id = reply.id;
    refresh();
    follow(reply.id, status);
  };
  xhr.send(body);
}

async function follow(id, status) {
  const r = await fetch('/v1/analyses/' + id);
  if (!r.ok) { status.textContent = 'gone (' + r.status + ')'; return; }
  const j = await r.json();
  if (j.status === 'queued' || j.status === 'running') { status.textContent = j.status; setTimeout(() => follow(id, status), 1000); return; }
  const res = j.result || {};
  status.textContent = (res.label || j.status).replace('_', ' ') + (res.score != null ? ' (score ' + res.score.toFixed(3) + ')' : '') +
                       (res.error ? ': ' + res.error : '');
  refresh();
}

function send(files) { for (const f of files) upload(f); }

$('#file').addEventListener('change', (e) => { send(e.target.files); e.target.value = ''; });
const drop = $('#drop');
for (const type of ['dragenter', 'dragover']) drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); send(e.dataTransfer.files); });

historyBody.addEventListener('click', async (e) => {
  const button = e.target.closest('button');
  if (!button) return;
  const row = button.closest('tr');
  const id = button.dataset.id;
  if (button.classList.contains('open')) {
    $('#report').src = '/v1/analyses/' + id + '/report';
    $('#viewer-title').textContent = 'Report: ' + row.dataset.name;
    $('#viewer').hidden = false;
    $('#viewer').dataset.id = id;
    $('#viewer-title').focus();
  } else if (button.classList.contains('delete')) {
    if (!confirm('Delete ' + row.dataset.name + ', its upload and its report?')) return;
    const r = await fetch('/v1/analyses/' + id, {method: 'DELETE', headers: {'X-CSRF-Token': csrf}});
    if (r.ok || r.status === 404) {
      if ($('#viewer').dataset.id === id) closeReport();
      refresh();
    }
  }
});

function closeReport() { $('#viewer').hidden = true; $('#report').src = 'about:blank'; }
$('#close-report').addEventListener('click', closeReport);

$('#filters').addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
$('#label').addEventListener('change', refresh);
let typing = null;
$('#q').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(refresh, 250); });
refresh();
