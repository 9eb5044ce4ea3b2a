// /v1/containers and their files: where the simulated code interpreter reads inputs and writes outputs.
import { findFile, page } from "./files.ts";
import { hexId, mimeOf, type SimContainer, type SimContainerFile } from "./files-state.ts";
import { missingParam, nowSeconds, SimError } from "./http.ts";
import type { SimState } from "./state.ts";

export const containerObject = (c: SimContainer): Record<string, unknown> => ({
  id: c.id,
  object: "container",
  created_at: c.createdAt,
  status: "running",
  expires_after: { anchor: "last_active_at", minutes: 20 },
  last_active_at: c.lastActiveAt,
  memory_limit: "1g",
  name: c.name,
});

export const containerFileObject = (c: SimContainer, f: SimContainerFile): Record<string, unknown> => ({
  id: f.id,
  object: "container.file",
  created_at: f.createdAt,
  bytes: f.content.length,
  container_id: c.id,
  path: f.path,
  source: f.source,
});

export function findContainer(state: SimState, id: string): SimContainer {
  const container = state.containers.get(id);
  if (!container) throw new SimError(404, `Container with id '${id}' not found.`, { param: "container_id" });
  container.lastActiveAt = nowSeconds();
  return container;
}

/** A container with copies of the given files (`source: "user"`), as `POST /v1/containers` or an `auto` tool makes it. */
export function createContainer(state: SimState, name: string, fileIds: string[]): SimContainer {
  for (const id of fileIds) findFile(state, id, "file_ids");
  const now = nowSeconds();
  const container: SimContainer = {
    id: hexId("cntr", 24),
    createdAt: now,
    name,
    files: new Map(),
    lastActiveAt: now,
  };
  for (const id of fileIds) {
    const file = findFile(state, id);
    writeFile(container, file.filename, "user", file.content);
  }
  state.containers.set(container.id, container);
  state.stats.containersCreated++;
  return container;
}

export function writeFile(
  container: SimContainer,
  filename: string,
  source: SimContainerFile["source"],
  content: Buffer,
): SimContainerFile {
  const file: SimContainerFile = {
    id: hexId("cfile"),
    createdAt: nowSeconds(),
    path: `/mnt/data/${filename}`,
    source,
    content,
  };
  container.files.set(file.id, file);
  return file;
}

export function createFromBody(state: SimState, body: Record<string, unknown>): SimContainer {
  if (typeof body.name !== "string") throw missingParam("name");
  const ids = Array.isArray(body.file_ids)
    ? body.file_ids.filter((x): x is string => typeof x === "string")
    : [];
  return createContainer(state, body.name, ids);
}

export function listContainers(state: SimState, query: URLSearchParams) {
  return page([...state.containers.values()].map(containerObject), query);
}

export function deleteContainer(state: SimState, id: string) {
  findContainer(state, id);
  state.containers.delete(id);
  return { id, object: "container.deleted", deleted: true };
}

export function findContainerFile(state: SimState, containerId: string, fileId: string) {
  const container = findContainer(state, containerId);
  const file = container.files.get(fileId);
  if (!file) throw new SimError(404, `Container file with id '${fileId}' not found.`, { param: "file_id" });
  return { container, file };
}

export function listContainerFiles(state: SimState, containerId: string, query: URLSearchParams) {
  const container = findContainer(state, containerId);
  return page(
    [...container.files.values()].map((f) => containerFileObject(container, f)),
    query,
  );
}

/** `POST /v1/containers/{id}/files` with `{ file_id }` copies an uploaded file in. */
export function addContainerFile(state: SimState, containerId: string, body: Record<string, unknown>) {
  const container = findContainer(state, containerId);
  if (typeof body.file_id !== "string") throw missingParam("file_id");
  const source = findFile(state, body.file_id, "file_id");
  return containerFileObject(container, writeFile(container, source.filename, "user", source.content));
}

export function containerFileContent(state: SimState, containerId: string, fileId: string) {
  const { file } = findContainerFile(state, containerId, fileId);
  return { body: file.content, type: mimeOf(file.path) };
}
