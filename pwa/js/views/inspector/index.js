// The inspector's screens. app.js calls register(route) once; `home` is where an inspector
// lands after sign-in. Reviewer and admin modules follow the same shape in their own folders.

import { fillView } from './fill.js';
import { homeView } from './home.js';
import { reviewView } from './review.js';
import { startView } from './start.js';

export const home = '/';

export function register(route) {
  const roles = ['inspector'];
  route('/', { roles, view: homeView });
  route('/start/:station', { roles, view: startView });
  route('/i/:id/review', { roles, view: reviewView });
  route('/i/:id/s/:section', { roles, view: fillView });
  route('/i/:id', { roles, view: fillView });
}
