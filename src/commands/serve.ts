// `kurier serve`: parses the options, starts the preview (src/serve/service.ts) and prints what it reports.

import path from 'node:path';
import { formatError } from '../error.ts';
import { z } from '../schema.ts';
import { startPreview } from '../serve/service.ts';
import { defineCommand, outOption, stateOption } from './command.ts';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Build, serve out/ on 127.0.0.1 and rebuild on every change',
  usage: 'kurier serve [--port N] [--out DIR] [--state DIR]',
  about: `Builds the publication, serves out/ at http://127.0.0.1:4000/ (as a static host would: "slug/"
answers with slug/index.html) and rebuilds whenever a file in content/, templates/ or static/
changes. A build that fails is reported and the last good out/ stays served. Ctrl-C stops.`,
  options: {
    port: {
      type: 'string',
      value: 'N',
      help: 'port on 127.0.0.1 (default: 4000; 0 picks a free one)',
      schema: z.coerce
        .number({ error: 'give a port number from 0 to 65535' })
        .int('give a port number from 0 to 65535')
        .min(0, 'give a port number from 0 to 65535')
        .max(65_535, 'give a port number from 0 to 65535')
        .default(4000),
    },
    out: outOption('where to build (default: out)'),
    state: stateOption,
  },
  allowPositionals: false,
  async run({ port }, _positionals, context) {
    const { paths } = context;
    const preview = await startPreview({
      root: context.root,
      outDir: paths.outDir,
      stateDir: paths.stateDir,
      port,
      now: context.now,
      onBuild: (report) => {
        if (!report.ok) {
          context.io.err(formatError(report.error));
          context.io.err('Still serving the last good build; fix the problem and save again.');
          return;
        }
        for (const warning of report.warnings) context.io.err(`warning: ${warning}`);
        context.io.out(
          `Built ${report.articles} article(s): ${report.changed} file(s) changed in ${report.milliseconds} ms.`,
        );
      },
    });
    context.io.out(
      `Serving ${path.relative(context.root, paths.outDir) || '.'}/ at http://127.0.0.1:${preview.port}/`,
    );
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await preview.close();
    return 0;
  },
});
