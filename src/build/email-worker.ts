// A worker thread of compile-emails.ts: compiles the emails it is sent and answers with them or their errors.

import { compileEmail, preloadMjml } from '../email/compile.ts';
import { KurierError } from '../error.ts';
import { serializeError, serveTasks } from '../threads.ts';
import type { EmailRequest, EmailResponse } from './compile-emails.ts';

preloadMjml();
serveTasks<EmailRequest, EmailResponse>(async (request) => {
  try {
    return { email: await compileEmail(request.site, request.article, request.templates) };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { error: serializeError(error) };
  }
});
