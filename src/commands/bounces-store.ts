// `kurier bounces` on the subscriber store: the command of src/commands/bounces.ts with the store's ledger
// and the settings of site.yaml and the environment.

import { openBounceLedger, readBounceSettings } from '../bounces/project.ts';
import { createBouncesCommand } from './bounces.ts';

export const bouncesCommand = createBouncesCommand({
  openLedger: openBounceLedger,
  readSettings: readBounceSettings,
});
