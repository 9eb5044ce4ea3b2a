// Fault switches shared by the stand-ins (see docs/reliability.md): rules that make a fraction of
// requests (or the next N) misbehave in a named way, settable at start and over `POST /__faults`.

/** One switch: a fault `kind` (each stand-in names its own) applied to some of the matching requests. */
export type FaultRule = {
  kind: string;
  /** 0..1: the share of matching requests that get the fault (drawn from the seeded generator). */
  fraction?: number;
  /** Instead of (or before) `fraction`: exactly the next N matching requests get it. */
  next?: number;
  /** Only requests whose subject (method and path, and for Redis the body) contains this text. */
  match?: string;
  /** HTTP status to answer (error kinds). */
  status?: number;
  /** `Retry-After` in seconds to send with an error (omitted: none). */
  retryAfterS?: number;
  /** Milliseconds to wait (slow, timeout, late, delayed kinds). */
  delayMs?: number;
  /** Milliseconds after which to drop a connection (drop/cut kinds). */
  afterMs?: number;
};

export type FaultsBody = { rules?: unknown; seed?: unknown };
export type FaultsState = { rules: FaultRule[]; seed: number; injected: Record<string, number> };

const NUMBER_FIELDS = ["fraction", "next", "status", "retryAfterS", "delayMs", "afterMs"] as const;

/**
 * mulberry32: small, fast and good enough to spread faults and workloads; the same seed gives the
 * same draws (the stand-ins, the soak and the network bench all draw from it).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Checks and normalises rules from JSON (start options or `POST /__faults`); throws on a bad one. */
export function parseRules(input: unknown, kinds: readonly string[]): FaultRule[] {
  if (!Array.isArray(input)) throw new Error("rules must be an array");
  return input.map((raw, i) => {
    if (!raw || typeof raw !== "object") throw new Error(`rules[${i}] must be an object`);
    const r = raw as Record<string, unknown>;
    if (typeof r.kind !== "string" || !kinds.includes(r.kind))
      throw new Error(`rules[${i}].kind must be one of ${kinds.join(", ")}`);
    const rule: FaultRule = { kind: r.kind };
    for (const field of NUMBER_FIELDS) {
      const v = r[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
        throw new Error(`rules[${i}].${field} must be a number ≥ 0`);
      rule[field] = v;
    }
    if (rule.fraction !== undefined && rule.fraction > 1) throw new Error(`rules[${i}].fraction must be ≤ 1`);
    if (rule.status !== undefined && (rule.status < 400 || rule.status > 599))
      throw new Error(`rules[${i}].status must be 400–599`);
    if (r.match !== undefined && r.match !== null) {
      if (typeof r.match !== "string") throw new Error(`rules[${i}].match must be a string`);
      rule.match = r.match;
    }
    return rule;
  });
}

/** One fault that fired: when (epoch ms), its kind, and the request it hit (`Faults.take`'s subject). */
export type FaultFired = { at_ms: number; kind: string; subject: string };
const FAULT_LOG_MAX = 100_000;
const FAULT_SUBJECT_MAX = 1_000;

export class Faults {
  private rules: FaultRule[] = [];
  private random: () => number;
  private seed: number;
  readonly injected: Record<string, number> = {};
  readonly kinds: readonly string[];
  /** The last `FAULT_LOG_MAX` faults that fired (when, which, on what), oldest first: for tracing. */
  readonly log: FaultFired[] = [];

  constructor(kinds: readonly string[], rules: FaultRule[] = [], seed = 1) {
    this.kinds = kinds;
    this.seed = seed;
    this.random = seededRandom(seed);
    this.set(rules);
  }

  /** Replaces every rule (an empty list turns faults off); a new seed restarts the draws. */
  set(rules: FaultRule[], seed?: number): void {
    this.rules = parseRules(rules, this.kinds);
    if (seed !== undefined) {
      this.seed = seed;
      this.random = seededRandom(seed);
    }
  }

  /**
   * The first rule of `kind` that fires for this request (counted in `injected`), else null. A rule
   * with `next` fires for that many matching requests first, then by `fraction` (if any).
   */
  take(kind: string, subject = ""): FaultRule | null {
    for (const rule of this.rules) {
      if (rule.kind !== kind) continue;
      if (rule.match !== undefined && !subject.includes(rule.match)) continue;
      let fires = false;
      if (rule.next !== undefined && rule.next > 0) {
        rule.next--;
        fires = true;
      } else if (rule.fraction !== undefined && rule.fraction > 0) {
        fires = this.random() < rule.fraction;
      }
      if (!fires) continue;
      this.injected[kind] = (this.injected[kind] ?? 0) + 1;
      if (this.log.length >= FAULT_LOG_MAX) this.log.splice(0, FAULT_LOG_MAX / 10);
      this.log.push({ at_ms: Date.now(), kind, subject: subject.slice(0, FAULT_SUBJECT_MAX) });
      return rule;
    }
    return null;
  }

  /** A uniform draw in [0, 1) from the same seeded generator (for jitter). */
  draw(): number {
    return this.random();
  }

  state(): FaultsState {
    return { rules: structuredClone(this.rules), seed: this.seed, injected: { ...this.injected } };
  }

  /**
   * `GET|POST /__faults`: a POST body `{ rules: [...], seed? }` replaces the rules; both answer the
   * state. Returns the HTTP status and body to send (400 with `error` for a bad body).
   */
  control(method: string, body: string): { status: number; body: FaultsState | { error: string } } {
    if (method === "POST" && body.trim() !== "") {
      let parsed: FaultsBody;
      try {
        parsed = JSON.parse(body) as FaultsBody;
      } catch {
        return { status: 400, body: { error: "faults: body must be JSON" } };
      }
      if (parsed && typeof parsed === "object" && "rules" in parsed) {
        try {
          const seed = typeof parsed.seed === "number" ? Math.floor(parsed.seed) : undefined;
          this.set(parseRules(parsed.rules, this.kinds), seed);
        } catch (err) {
          return { status: 400, body: { error: `faults: ${(err as Error).message}` } };
        }
      }
    }
    return { status: 200, body: this.state() };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
