// The reviewer's screens. app.js calls register(route) once; a reviewer lands on the queue.
// Every screen, its words and reviewer.css are loaded on first use, so inspectors' phones never
// fetch or parse any of this.

export const home = '/review';

let css;
function stylesheet() {
  // Resolves on load or error: a screen never paints unstyled first, and never waits forever.
  css ||= new Promise((resolve) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = '/css/reviewer.css';
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve);
    document.head.append(link);
  });
  return css;
}

const screen = (load) => async () => (await Promise.all([load(), stylesheet()]))[0];

export function register(route) {
  const roles = ['reviewer', 'admin'];
  route('/review', { roles, load: screen(() => import('./queue.js')) });
  route('/review/i/:id', { roles, keepScroll: true, load: screen(() => import('./inspection.js')) });
  route('/review/visits', { roles, load: screen(() => import('./visits.js')) });
  route('/review/actions', { roles, load: screen(() => import('./actions.js')) });
  route('/review/dashboard', { roles, load: screen(() => import('./dashboard.js')) });
}
