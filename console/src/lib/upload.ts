// One file to /graphql as a GraphQL multipart request (the spec CONTRACT.md names), through XMLHttpRequest:
// fetch cannot report how much of a request body has been sent, and each file shows its own upload progress.

import { stringifyDocument } from "@urql/core";
import { graphql } from "../gql";
import type { UploadDocumentMutation as UploadResult } from "../gql/graphql";
import { GRAPHQL_PATH } from "./client";
import { type PublicError, errorFromBody } from "./errors";
import { freshSession } from "./session";

export const UploadDocumentMutation = graphql(`
  mutation UploadDocument($file: Upload!, $replaces: ID) {
    uploadDocument(file: $file, replaces: $replaces) {
      id
      title
      fileName
      status
      progress
    }
  }
`);

export type UploadedDocument = UploadResult["uploadDocument"];

export type UploadOutcome = { document: UploadedDocument; error?: never } | { document?: never; error: PublicError };

/** Uploads one file; with `replaces`, as a new version of that document (compared with it once analysed). */
export async function uploadFile(
  file: File,
  onProgress: (sent: number, total: number) => void,
  replaces: string | null = null,
): Promise<UploadOutcome> {
  const session = await freshSession();
  const form = new FormData();
  const variables = { file: null, replaces };
  form.append("operations", JSON.stringify({ query: stringifyDocument(UploadDocumentMutation), variables }));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", file, file.name);
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", GRAPHQL_PATH);
    request.responseType = "json";
    if (session) request.setRequestHeader("Authorization", `Bearer ${session.accessToken}`);
    request.upload.addEventListener("progress", (event) => {
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    request.addEventListener("load", () => {
      const body: unknown = request.response;
      const data = (body as { data?: { uploadDocument?: UploadedDocument } } | null)?.data;
      if (data?.uploadDocument) {
        onProgress(file.size, file.size);
        resolve({ document: data.uploadDocument });
        return;
      }
      resolve({ error: errorFromBody(body, request.status) ?? { code: "INTERNAL", message: "" } });
    });
    request.addEventListener("error", () => resolve({ error: { code: "NETWORK", message: "" } }));
    request.addEventListener("abort", () => resolve({ error: { code: "NETWORK", message: "the upload was stopped" } }));
    request.send(form);
  });
}
