// content/site.yaml → Site for the commands that need the settings without the articles (new, bounces, server).

import type { Site } from '../model.ts';
import { readSettingsSource } from './read-content.ts';
import { parseSite } from './settings.ts';

export async function readSite(root: string): Promise<Site> {
  const settings = await readSettingsSource(root);
  return parseSite(settings.text, settings.path);
}
