import { useRef, useState } from "preact/hooks";
import type { PublicError } from "../lib/errors";
import { describe } from "../lib/errors";
import type { ProcessingEvent } from "../lib/events";
import { FINAL } from "../lib/events";
import { formatBytes, titleCase } from "../lib/format";
import { type UploadedDocument, uploadFile } from "../lib/upload";
import { ProgressBar } from "./ProgressBar";

/** Files sent at once; the others wait their turn. */
const PARALLEL_UPLOADS = 3;

interface Item {
  key: number;
  file: File;
  sent: number;
  state: "waiting" | "uploading" | "uploaded" | "refused";
  document?: UploadedDocument;
  error?: PublicError;
}

/** Why a file was refused, in the terms the person can act on: its type or its size. */
export function refusal(error: PublicError): string {
  if (error.code === "UNSUPPORTED_MEDIA_TYPE") return `Refused (file type): ${error.message || "this type of file is not supported"}.`;
  if (error.code === "PAYLOAD_TOO_LARGE") return `Refused (size): ${error.message || "the file is too large"}.`;
  return describe(error);
}

export function UploadPanel({
  events,
  onUploaded,
}: {
  events: ReadonlyMap<string, ProcessingEvent>;
  onUploaded: () => void;
}) {
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const queue = useRef<Item[]>([]);
  const active = useRef(0);
  const nextKey = useRef(1);

  const update = (key: number, change: Partial<Item>) =>
    setItems((all) => all.map((item) => (item.key === key ? { ...item, ...change } : item)));

  function pump() {
    while (active.current < PARALLEL_UPLOADS && queue.current.length > 0) {
      const item = queue.current.shift();
      if (!item) break;
      active.current += 1;
      update(item.key, { state: "uploading" });
      void uploadFile(item.file, (sent) => update(item.key, { sent })).then((outcome) => {
        active.current -= 1;
        if (outcome.document) {
          update(item.key, { state: "uploaded", sent: item.file.size, document: outcome.document });
          onUploaded();
        } else {
          update(item.key, { state: "refused", error: outcome.error });
        }
        pump();
      });
    }
  }

  function add(files: FileList | File[] | null) {
    if (!files || files.length === 0) return;
    const added = Array.from(files).map((file) => ({ key: nextKey.current++, file, sent: 0, state: "waiting" as const }));
    setItems((all) => [...added, ...all]);
    queue.current.push(...added);
    pump();
  }

  const clearable = items.some((item) => item.state === "refused" || processingOf(item, events)?.final);

  return (
    <section aria-labelledby="upload-heading" class="card">
      <h2 id="upload-heading">Upload documents</h2>
      <div
        class={`dropzone${dragging ? " dragging" : ""}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          add(event.dataTransfer?.files ?? null);
        }}
      >
        <p>Drop files here, or</p>
        <button type="button" onClick={() => input.current?.click()}>
          Choose files…
        </button>
        <input
          ref={input}
          type="file"
          multiple
          class="visually-hidden"
          tabIndex={-1}
          aria-label="Files to upload"
          accept=".pdf,.docx,.xlsx,.xlsm,.pptx,.eml,.msg,.png,.jpg,.jpeg,.tif,.tiff,.md,.markdown,.txt,.html,.htm,.vtt,.srt,application/pdf,image/png,image/jpeg,image/tiff,message/rfc822,text/*"
          onChange={(event) => {
            add(event.currentTarget.files);
            event.currentTarget.value = "";
          }}
        />
        <p class="hint">
          PDF (scans too), Word, Excel, PowerPoint, e-mail (.eml, .msg), images, Markdown, HTML, text or transcripts.
          Several at once is fine.
        </p>
      </div>
      {items.length > 0 ? (
        <>
          <ul class="uploads" aria-label="Uploads">
            {items.map((item) => (
              <UploadRow key={item.key} item={item} events={events} />
            ))}
          </ul>
          {clearable ? (
            <button
              type="button"
              class="secondary small"
              onClick={() => setItems((all) => all.filter((item) => !(item.state === "refused" || processingOf(item, events)?.final)))}
            >
              Clear finished
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function processingOf(item: Item, events: ReadonlyMap<string, ProcessingEvent>) {
  if (!item.document) return null;
  const event = events.get(item.document.id);
  const status = event?.status ?? item.document.status;
  const progress = Math.max(event?.progress ?? 0, item.document.progress);
  return { status, progress, message: event?.message ?? "", final: FINAL.has(status) };
}

function UploadRow({ item, events }: { item: Item; events: ReadonlyMap<string, ProcessingEvent> }) {
  const processing = processingOf(item, events);
  const name = item.file.name;
  const uploadPercent = item.file.size ? (100 * item.sent) / item.file.size : 100;
  let state: string;
  if (item.state === "waiting") state = "Waiting";
  else if (item.state === "uploading") state = `Uploading, ${Math.round(uploadPercent)}%`;
  else if (item.state === "refused") state = "Refused";
  else if (processing?.status === "COMPLETED") state = "Completed";
  else if (processing?.status === "FAILED") state = "Failed";
  else state = `${titleCase(processing?.status ?? "QUEUED")}, ${processing?.progress ?? 0}%`;
  return (
    <li class={`upload upload-${item.state}`} data-file={name}>
      <div class="upload-head">
        <span class="upload-name">{name}</span>
        <span class="muted small">{formatBytes(item.file.size)}</span>
        <span class="upload-state" aria-live="polite">
          {state}
        </span>
      </div>
      {item.state === "refused" && item.error ? (
        <p class="error" role="alert">
          {name}: {refusal(item.error)}
        </p>
      ) : (
        <div class="upload-bars">
          <ProgressBar value={uploadPercent} label={`Upload of ${name}`} tone={item.state === "uploaded" ? "done" : undefined} />
          <ProgressBar
            value={processing?.progress ?? 0}
            label={`Processing of ${name}`}
            tone={processing?.status === "COMPLETED" ? "done" : processing?.status === "FAILED" ? "failed" : undefined}
          />
        </div>
      )}
      {processing?.status === "FAILED" ? (
        <p class="error" role="alert">
          {name}: {processing.message || "processing failed"}
        </p>
      ) : null}
      {processing?.status === "COMPLETED" && item.document ? (
        <a href={`/documents/${item.document.id}`}>Open {item.document.title}</a>
      ) : null}
    </li>
  );
}
