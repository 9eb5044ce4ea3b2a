/**
 * `--network=production`: a latency model for the hops the local stack makes instant. Each hop is a
 * log-normal distribution given by its median and 99th percentile, sampled with a fixed seed (the
 * same delays in every run). The sources are in docs/performance.md ("The production network
 * model"); where nothing is published, the figure is an assumption and says so there.
 */
import { seededRandom } from "../dev/faults.ts";

export type Network = "local" | "production";

export interface Hop {
  /** What the delay covers. */
  what: string;
  median_ms: number;
  p99_ms: number;
}

/** Round trips are split in half: one half before the request is forwarded, one before the answer. */
export const HOPS = {
  redis: { what: "Worker → Upstash Redis REST, one request (round trip)", median_ms: 8, p99_ms: 40 },
  qstashApi: { what: "Worker → QStash API, one publish (round trip)", median_ms: 30, p99_ms: 120 },
  qstashDelivery: {
    what: "QStash → Worker, from publish (or a call's answer) to the delivery arriving",
    median_ms: 60,
    p99_ms: 400,
  },
  qstashToOpenai: { what: "QStash → OpenAI, network round trip of a call", median_ms: 40, p99_ms: 150 },
  openaiApi: {
    what: "Worker → OpenAI API, one request's network round trip (model time not included)",
    median_ms: 60,
    p99_ms: 250,
  },
  openaiWebhook: {
    what: "OpenAI webhook dispatch, from the response's end to the POST arriving",
    median_ms: 1_000,
    p99_ms: 5_000,
  },
} as const satisfies Record<string, Hop>;
export type HopName = keyof typeof HOPS;

const Z99 = 2.326_347_874;

/** The seed the bench's network delays are drawn with unless `--seed` says otherwise. */
export const DEFAULT_SEED = 15;

/** Delay samplers per hop; all zero on the local network. */
export function delays(network: Network, seed = DEFAULT_SEED): Record<HopName, () => number> {
  const next = seededRandom(seed);
  const normal = () => {
    // Box–Muller.
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  const sample = (hop: Hop) => {
    if (network === "local") return () => 0;
    const mu = Math.log(hop.median_ms);
    const sigma = Math.log(hop.p99_ms / hop.median_ms) / Z99;
    return () => Math.exp(mu + sigma * normal());
  };
  return Object.fromEntries(Object.entries(HOPS).map(([k, hop]) => [k, sample(hop)])) as Record<
    HopName,
    () => number
  >;
}
