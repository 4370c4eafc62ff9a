// The layer check of `npm test`: no import cycles, and no module imports a layer above its own. The order
// follows the flow of the data: content → model → render/email → build → out, the preview (serve) on the
// build, store → send, and the commands and the CLI entry on top. Shared basics (error, schema, context,
// time, threads) sit below all.
/** Layers from the bottom up; a module may import its own layer and the ones below. */
const LAYERS = [
  ['^src/(error|schema|context|environment|time|threads|text|address|code-cache)\\.ts$'],
  ['^src/model\\.ts$'],
  ['^src/content/', '^src/(render|email)/'],
  ['^src/build/'],
  ['^src/serve/'],
  ['^src/(store|subscribe)/'],
  ['^src/(send|bounces)/'],
  ['^src/server/'],
  ['^src/commands/'],
  ['^src/(cli|kurier)\\.ts$'],
];

const above = (index) => LAYERS.slice(index + 1).flat();

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle ties two modules into one; move the shared part into a module both import.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...LAYERS.flatMap((paths, index) =>
      index === LAYERS.length - 1
        ? []
        : paths.map((from) => ({
            name: `no-upward-import`,
            severity: 'error',
            comment: `${from} may not import a higher layer (${above(index).join(', ')}).`,
            from: { path: from },
            to: { path: above(index) },
          })),
    ),
    {
      name: 'no-sideways-import',
      severity: 'error',
      comment: 'Content makes the model and render/email read it: neither side reaches into the other.',
      from: { path: '^src/(render|email)/' },
      to: { path: '^src/content/' },
    },
    {
      name: 'no-sideways-import',
      severity: 'error',
      comment: 'Content makes the model and render/email read it: neither side reaches into the other.',
      from: { path: '^src/content/' },
      to: { path: '^src/(render|email)/' },
    },
    {
      name: 'no-unlayered',
      severity: 'error',
      comment: 'Every module of src/ belongs to a layer of .dependency-cruiser.cjs; add the new one there.',
      from: { path: '^src/', pathNot: LAYERS.flat() },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
