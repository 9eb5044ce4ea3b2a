// Safe evaluator for `Upstash-Retry-Delay` expressions (milliseconds), e.g. `1000 * pow(2, retried)`.
// A tiny recursive-descent parser: numbers, the variable `retried`, + - * / %, unary minus,
// parentheses and the functions QStash documents. Never uses eval.

type Fn = (...args: number[]) => number;

const FUNCTIONS: Record<string, Fn> = {
  pow: (a = 0, b = 0) => a ** b,
  exp: (a = 0) => Math.exp(a),
  sqrt: (a = 0) => Math.sqrt(a),
  abs: (a = 0) => Math.abs(a),
  floor: (a = 0) => Math.floor(a),
  ceil: (a = 0) => Math.ceil(a),
  round: (a = 0) => Math.round(a),
  min: (...args) => Math.min(...args),
  max: (...args) => Math.max(...args),
};

const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([A-Za-z_]\w*)|(\S))/gy;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const match = TOKEN.exec(source);
    if (!match) break;
    const token = match[1] ?? match[2] ?? match[3];
    if (token !== undefined) tokens.push(token);
  }
  return tokens;
}

/** Evaluates `source` with `retried` bound; throws on syntax errors or a non-finite result. */
export function evaluateRetryDelay(source: string, retried: number): number {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string): string => {
    const token = tokens[pos++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`invalid retry delay expression: expected ${expected ?? "a value"} near token ${pos}`);
    }
    return token;
  };

  function sum(): number {
    let value = product();
    while (peek() === "+" || peek() === "-") value = take() === "+" ? value + product() : value - product();
    return value;
  }
  function product(): number {
    let value = unary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = take();
      const right = unary();
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  }
  function unary(): number {
    if (peek() === "-" || peek() === "+") return take() === "-" ? -unary() : unary();
    return primary();
  }
  function primary(): number {
    const token = take();
    if (token === "(") {
      const value = sum();
      take(")");
      return value;
    }
    if (/^\d/.test(token)) return Number(token);
    if (token === "retried") return retried;
    const fn = FUNCTIONS[token];
    if (!fn) throw new Error(`invalid retry delay expression: unknown identifier ${token}`);
    take("(");
    const args: number[] = [];
    if (peek() !== ")") {
      args.push(sum());
      while (peek() === ",") {
        take(",");
        args.push(sum());
      }
    }
    take(")");
    return fn(...args);
  }

  const value = sum();
  if (pos !== tokens.length) throw new Error(`invalid retry delay expression: unexpected ${tokens[pos]}`);
  if (!Number.isFinite(value)) throw new Error("invalid retry delay expression: result is not finite");
  return Math.max(0, value);
}
