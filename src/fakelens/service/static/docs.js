// Swagger UI from the package's own copy; no validator badge (it would call another host).
'use strict';
const csrf = document.querySelector('meta[name="csrf-token"]').content;
window.ui = SwaggerUIBundle({
  url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null, deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout',
  requestInterceptor: (req) => { req.headers['X-CSRF-Token'] = csrf; return req; },  // when signed in by cookie
});
