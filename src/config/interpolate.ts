// `${VAR}` and `${VAR:-default}` in pipelines.yaml scalars, resolved from the environment; `$${` is a literal `${`.

export type InterpolationResult = { ok: true; value: string; replaced: boolean } | { ok: false; error: string };

const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Interpolates one scalar. Errors name the variable only: its value may be a secret. */
export function interpolate(text: string, env: NodeJS.ProcessEnv): InterpolationResult {
  let out = '';
  let replaced = false;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      replaced = true;
      i += 3;
      continue;
    }
    if (text.startsWith('${', i)) {
      const close = text.indexOf('}', i + 2);
      if (close < 0) {
        return { ok: false, error: `unterminated "\${" in ${JSON.stringify(text)} (write $\${ for a literal \${)` };
      }
      const expression = text.slice(i + 2, close);
      const match = EXPRESSION.exec(expression);
      if (!match) {
        return {
          ok: false,
          error:
            `bad variable reference "\${${expression}}": use \${NAME} or \${NAME:-default} ` +
            '(write $${ for a literal ${)',
        };
      }
      const name = match[1] ?? '';
      const fallback = match[2];
      const value = env[name];
      if (fallback !== undefined) {
        // Like the shell: `:-` also replaces an empty value.
        out += value === undefined || value === '' ? fallback : value;
      } else if (value === undefined) {
        return {
          ok: false,
          error: `environment variable ${name} is not set: export ${name}, or give a default with \${${name}:-value}`,
        };
      } else {
        out += value;
      }
      replaced = true;
      i = close + 1;
      continue;
    }
    out += text.charAt(i);
    i++;
  }
  return { ok: true, value: out, replaced };
}
