// A worker thread of compile-emails.ts: compiles the emails it is sent and answers with them or their errors.

import { serveTasks } from '../threads.ts';
import { type EmailRequest, type EmailResponse, planEmailResponse } from './compile-emails.ts';

serveTasks<EmailRequest, EmailResponse>(planEmailResponse);
