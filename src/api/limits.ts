/**
 * Request limits of the public API, in one place (each one has its own error code, see README
 * "Limits"). Sizes in bytes or characters as named.
 */
/** Largest request body (413 `body_too_large`). The Assistants API's instructions limit fits. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest body of a QStash step delivery or failure callback (ours are a few hundred bytes). */
export const MAX_STEP_BODY_BYTES = 64 * 1024;
/**
 * Largest body of QStash's callback with a model call's answer (the `call` strategy): the answer and
 * the request, each base64 (QStash cuts the answer to the plan's message size: 1 MB free, 10 MB
 * pay-as-you-go).
 */
export const MAX_CALL_CALLBACK_BYTES = 32 * 1024 * 1024;
/** Deepest nesting of arrays and objects in a JSON body (400 `json_too_deep`). */
export const MAX_JSON_DEPTH = 32;
/** Long texts: instructions, input (400 `string_too_long`). */
export const MAX_TEXT_CHARS = 256_000;
/** A tool output submitted by the caller. */
export const MAX_TOOL_OUTPUT_CHARS = 512_000;
/** Tools per assistant or run (400 `too_many_tools`). */
export const MAX_TOOLS = 128;
/** JSON size of one function's `parameters` or a `json_schema` format (400 `schema_too_large`). */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Metadata: keys, key length, value length (400 `invalid_metadata`). */
export const MAX_METADATA_KEYS = 16;
export const MAX_METADATA_KEY_CHARS = 64;
export const MAX_METADATA_VALUE_CHARS = 512;
