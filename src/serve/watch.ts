// The preview's watcher: every folder below content/, templates/ and static/, so that a save is seen at once.

import { type FSWatcher, readdirSync, watch } from 'node:fs';
import path from 'node:path';

/**
 * A watcher per folder below `roots`, renewed when folders come and go. Node 20's recursive watch on Linux
 * watches the files themselves, so it misses every change after an editor's safe write (a new file renamed
 * over the old one); a folder's watcher sees every change of the names in it.
 *
 * Editors save in bursts (temporary file, rename, chmod): `onChange` is called once the folders have been
 * quiet for `quietMs`. The folders are listed again then, not on every event of the burst: a file saved
 * into a folder made during the burst is read by the build that follows anyway.
 */
export function watchFolders(
  roots: readonly string[],
  quietMs: number,
  onChange: () => void,
): { close(): void } {
  const watchers = new Map<string, FSWatcher>();
  const refresh = () => {
    const folders = new Set(
      roots.flatMap((root) => {
        try {
          const below = readdirSync(root, { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => path.join(entry.parentPath, entry.name));
          return [root, ...below];
        } catch {
          return [];
        }
      }),
    );
    for (const [folder, watcher] of watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      watchers.delete(folder);
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        watchers.set(folder, watch(folder, changed));
      } catch {
        // Gone again before it could be watched; the next refresh looks again.
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  // Only a name that comes or goes ('rename') can be a folder's.
  let renamed = false;
  const changed = (event: string) => {
    if (event === 'rename') renamed = true;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (renamed) refresh();
      renamed = false;
      onChange();
    }, quietMs);
  };
  refresh();
  return {
    close: () => {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}
