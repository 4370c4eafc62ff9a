// The schema language of every boundary (settings, front matter, subscriber rows, environment, journal):
// zod, imported here only, so that an upgrade of it is read in one place.

export { z } from 'zod';
