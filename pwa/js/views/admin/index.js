// The admin console's screens. app.js calls register(route) once; an admin lands on the templates.
// Every screen is loaded on first use, so inspectors' phones never parse any of this.

export const home = '/admin/templates';

export function register(route) {
  const roles = ['admin'];
  const templates = () => import('./templates.js');
  route('/admin/templates', { roles, load: async () => ({ default: (await templates()).listView }) });
  route('/admin/templates/:id/versions', { roles, load: async () => ({ default: (await templates()).versionsView }) });
  route('/admin/templates/:id', { roles, keepScroll: true, load: () => import('./builder.js') });
  route('/admin/users', { roles, load: async () => ({ default: (await import('./users.js')).listView }) });
  route('/admin/users/new', { roles, load: async () => ({ default: (await import('./users.js')).userView }) });
  route('/admin/users/:id', { roles, load: async () => ({ default: (await import('./users.js')).userView }) });
  route('/admin/hierarchy/import', { roles, load: () => import('./csvimport.js') });
  route('/admin/hierarchy/:tab?', { roles, load: () => import('./hierarchy.js') });
  route('/admin/audit', { roles, load: () => import('./audit.js') });
}
