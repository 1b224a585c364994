// Lint config: typescript-eslint's recommended rules plus a few that catch real bugs in async I/O code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports one way (README, Contributing): a folder under src/ may import only folders on lower layers, and only
// through their index.ts (or types.ts, for types). errors.ts, log.ts and text.ts are the ground everyone stands on;
// the emulator stands apart (only the CLI starts it) and only db reads migrations/.
const LAYERS = {
  config: 1, db: 1,
  zuora: 2,
  plan: 3, decode: 3,
  state: 4, load: 4,
  sync: 5, verify: 5,
  scheduler: 6, ui: 6,
  cli: 7,
};
const FOLDERS = [...Object.keys(LAYERS), 'emulator'];
const alternatives = (names) => names.join('|');

function layering(folder) {
  const layer = LAYERS[folder] ?? 0;
  const above = Object.keys(LAYERS).filter((f) => f !== folder && LAYERS[f] >= layer);
  const forbidden = [...(folder === 'emulator' ? Object.keys(LAYERS) : above), ...(folder === 'cli' || folder === 'emulator' ? [] : ['emulator'])];
  const others = FOLDERS.filter((f) => f !== folder);
  const patterns = [
    {
      regex: `^(\\.\\./)+(${alternatives(others)})/(?!index\\.ts$|types\\.ts$)`,
      message: 'import another folder through its index.ts (or types.ts for types), not its inner files',
    },
  ];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^(\\.\\./)+(${alternatives(forbidden)})/`,
      message: `src/${folder} must not import this folder: imports go one way (config, db -> zuora -> plan, decode -> state, load -> sync, verify -> scheduler, ui -> cli; the emulator apart)`,
    });
  }
  if (folder !== 'db') patterns.push({ regex: '^(\\.\\./)+migrations/', message: 'only src/db reads the migrations' });
  return { files: [`src/${folder}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['node_modules/**', '.aquasync/**', 'coverage/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...FOLDERS.map(layering),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
);
