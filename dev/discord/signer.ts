// The Discord stand-in's signing side: an Ed25519 key pair generated at start, and the signature
// Discord puts on every interaction it POSTs (`X-Signature-Ed25519` over timestamp + raw body).

export type DiscordSigner = {
  /** The application's public key as Discord's developer portal shows it (64 hex characters). */
  publicKeyHex: string;
  /** Headers for one interaction body, signed at `timestampS` (Unix seconds; default now). */
  sign(body: string, timestampS?: number): Promise<Record<string, string>>;
};

const toHex = (bytes: ArrayBuffer): string => Buffer.from(bytes).toString("hex");

export async function newSigner(): Promise<DiscordSigner> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const publicKeyHex = toHex(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    publicKeyHex,
    async sign(body, timestampS = Math.floor(Date.now() / 1000)) {
      const timestamp = String(timestampS);
      const signature = await crypto.subtle.sign(
        { name: "Ed25519" },
        pair.privateKey,
        new TextEncoder().encode(timestamp + body),
      );
      return { "x-signature-ed25519": toHex(signature), "x-signature-timestamp": timestamp };
    },
  };
}
