// CompiledEmail → out/<slug>/email.html and email.txt: the "view in browser" version, with no reader data.

import type { CompiledEmail } from './model.ts';
import { planWebReader, prepareEmail, renderEmail } from './render.ts';

export function renderWebVersion(compiled: CompiledEmail): { html: string; text: string } {
  return renderEmail(prepareEmail(compiled), planWebReader(compiled));
}
