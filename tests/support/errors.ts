// The KurierError a call throws, for assertions on its code, file, line and message.

import { KurierError } from '../../src/error.ts';

export function errorOf(run: () => unknown): KurierError {
  try {
    run();
  } catch (error) {
    if (error instanceof KurierError) return error;
    throw error;
  }
  throw new Error('expected a KurierError');
}
