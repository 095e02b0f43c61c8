// Images: upload from the browser with a progress bar (POST /images, then PUT …/file through
// XMLHttpRequest), list, change visibility (JSON patch), delete.
import { FormEvent, useState } from "react";
import { errorText } from "../api/errors";
import * as glance from "../api/image";
import { ProgressBar } from "../components/Charts";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Icon } from "../components/Icon";
import { ActionMenu } from "../components/Menu";
import { Modal } from "../components/Modal";
import { Card, EmptyState, formatBytes, Loading, PageHeader, timeAgo } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { useResource } from "../hooks/useResource";
import { useSignedIn } from "../session";

const DISK_FORMATS = ["qcow2", "raw", "iso", "vmdk", "vdi", "vhd", "vhdx", "aki", "ari", "ami"];
const VISIBILITIES: glance.Visibility[] = ["private", "shared", "community", "public"];

interface Upload {
  key: string;
  imageId: string;
  name: string;
  sent: number;
  total: number;
  state: "uploading" | "done" | "failed";
  error?: string;
}

function guessFormat(fileName: string): string {
  const ext = fileName.toLowerCase().split(".").pop() ?? "";
  if (DISK_FORMATS.includes(ext)) return ext;
  if (ext === "img") return "raw";
  return "qcow2";
}

export function ImagesPage() {
  const session = useSignedIn();
  const images = useResource(glance.listImages, [], 4000);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [showUpload, setShowUpload] = useState(false);
  const [toDelete, setToDelete] = useState<glance.Image | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);

  const update = (key: string, patch: Partial<Upload>) => setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...patch } : u)));

  const startUpload = async (form: glance.NewImage, file: File) => {
    const image = await glance.createImage(form);
    const key = `${image.id}-${Date.now()}`;
    setUploads((list) => [{ key, imageId: image.id, name: form.name, sent: 0, total: file.size, state: "uploading" }, ...list]);
    void images.reload();
    glance
      .uploadImageData(image.id, file, (sent, total) => update(key, { sent, total }))
      .then(() => update(key, { state: "done", sent: file.size }))
      .catch((e) => update(key, { state: "failed", error: errorText(e) }))
      .finally(() => void images.reload());
  };

  const changeVisibility = async (image: glance.Image, v: glance.Visibility) => {
    setRowError(null);
    try {
      await glance.setVisibility(image.id, v);
      void images.reload();
    } catch (e) {
      setRowError(`Could not make ${image.name ?? image.id} ${v}: ${errorText(e)}`);
    }
  };

  const list = (images.data ?? []).slice().sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  return (
    <>
      <PageHeader
        title="Images"
        subtitle="Disk images instances boot from (Glance). Uploads go straight from your browser."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setShowUpload(true)} data-testid="upload-image">
            <Icon name="upload" size={16} /> Upload image
          </button>
        }
      />
      {uploads.length > 0 && (
        <Card title="Uploads" testId="uploads" actions={<button type="button" className="btn btn-small" onClick={() => setUploads((l) => l.filter((u) => u.state === "uploading"))}>Clear finished</button>}>
          {uploads.map((u) => (
            <div className="upload-row" key={u.key} data-testid="upload-row" data-state={u.state}>
              <div className="upload-head">
                <strong>{u.name}</strong>
                <span className="muted">
                  {u.state === "uploading" && `${formatBytes(u.sent)} of ${formatBytes(u.total)}`}
                  {u.state === "done" && `Uploaded ${formatBytes(u.total)}`}
                  {u.state === "failed" && "Upload failed"}
                </span>
              </div>
              <ProgressBar value={u.total ? u.sent / u.total : 0} label={`Upload of ${u.name}`} />
              {u.error && <ErrorNote message={u.error} />}
            </div>
          ))}
        </Card>
      )}
      <ErrorNote message={rowError} onDismiss={() => setRowError(null)} />
      <Card>
        <ErrorNote message={images.error} title="The images could not be loaded:" />
        {images.loading && !images.data ? (
          <Loading what="images" />
        ) : list.length === 0 ? (
          <EmptyState icon="image" title="No images" hint="Upload a qcow2 or raw disk image to boot instances from." />
        ) : (
          <table className="table" data-testid="images-table">
            <thead>
              <tr><th>Name</th><th>Status</th><th>Visibility</th><th>Format</th><th>Size</th><th>Created</th><th className="col-actions" /></tr>
            </thead>
            <tbody>
              {list.map((i) => {
                const mine = i.owner === session.projectId;
                return (
                  <tr key={i.id} data-testid="image-row" data-name={i.name ?? ""} data-status={i.status}>
                    <td>
                      <strong>{i.name ?? "(no name)"}</strong>
                      <div className="muted mono small">{i.id.slice(0, 8)}</div>
                    </td>
                    <td><StatusBadge status={i.status} /></td>
                    <td><span className={`chip chip-${i.visibility}`}>{i.visibility}</span></td>
                    <td className="mono">{i.disk_format ?? "—"}</td>
                    <td>{formatBytes(i.size)}</td>
                    <td className="muted">{timeAgo(i.created_at)}</td>
                    <td className="col-actions">
                      <ActionMenu
                        testId={`actions-${i.name}`}
                        actions={[
                          ...VISIBILITIES.filter((v) => v !== i.visibility).map((v) => ({
                            label: `Make ${v}`,
                            icon: "eye" as const,
                            onSelect: () => void changeVisibility(i, v),
                            hidden: !mine && !session.isAdmin,
                          })),
                          { label: "Delete", icon: "trash", danger: true, onSelect: () => setToDelete(i), hidden: !mine && !session.isAdmin },
                        ]}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      {showUpload && <UploadDialog onClose={() => setShowUpload(false)} onStart={startUpload} />}
      {toDelete && (
        <ConfirmDialog
          title={`Delete image ${toDelete.name ?? toDelete.id}?`}
          message="Its data is removed; instances already running from it keep their disks."
          confirmLabel="Delete image"
          onClose={() => setToDelete(null)}
          onConfirm={async () => {
            await glance.deleteImage(toDelete.id);
            void images.reload();
          }}
        />
      )}
    </>
  );
}

function UploadDialog({ onClose, onStart }: { onClose: () => void; onStart: (form: glance.NewImage, file: File) => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [diskFormat, setDiskFormat] = useState("qcow2");
  const [visibility, setVisibility] = useState<glance.Visibility>("private");
  const [minDisk, setMinDisk] = useState("");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const pick = (f: File | null) => {
    setFile(f);
    if (f) {
      if (!name) setName(f.name.replace(/\.[^.]+$/, ""));
      setDiskFormat(guessFormat(f.name));
    }
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const errs: Record<string, string | null> = {
      file: file ? (file.size === 0 ? "The file is empty." : null) : "Choose an image file.",
      name: validate.name(name, "The image name"),
      minDisk: minDisk && !(Number.isInteger(Number(minDisk)) && Number(minDisk) >= 0) ? "A whole number of GiB." : null,
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean) || !file) return;
    setBusy(true);
    setError(null);
    try {
      await onStart(
        {
          name: name.trim(),
          disk_format: diskFormat,
          container_format: diskFormat === "aki" || diskFormat === "ari" || diskFormat === "ami" ? diskFormat : "bare",
          visibility,
          ...(minDisk ? { min_disk: Number(minDisk) } : {}),
        },
        file,
      );
      onClose();
    } catch (er) {
      setError(errorText(er));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Upload image"
      subtitle="The file is sent to Glance from this browser; the progress shows on the Images page."
      onClose={onClose}
      testId="upload-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()} data-testid="upload-submit">
            <Icon name="upload" size={15} /> {busy ? "Creating…" : "Upload"}
          </button>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <Field label="Image file" htmlFor="image-file" error={errors.file} hint={file ? `${file.name} · ${formatBytes(file.size)}` : "qcow2, raw, iso, vmdk…"}>
          <input id="image-file" type="file" onChange={(e) => pick(e.target.files?.[0] ?? null)} />
        </Field>
        <Field label="Name" htmlFor="image-name" error={errors.name}>
          <input id="image-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <div className="form-row">
          <Field label="Disk format" htmlFor="image-format">
            <select id="image-format" value={diskFormat} onChange={(e) => setDiskFormat(e.target.value)}>
              {DISK_FORMATS.map((f) => <option key={f}>{f}</option>)}
            </select>
          </Field>
          <Field label="Visibility" htmlFor="image-visibility">
            <select id="image-visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as glance.Visibility)}>
              {VISIBILITIES.map((v) => <option key={v}>{v}</option>)}
            </select>
          </Field>
          <Field label="Minimum disk (GiB)" htmlFor="image-min-disk" error={errors.minDisk}>
            <input id="image-min-disk" inputMode="numeric" value={minDisk} onChange={(e) => setMinDisk(e.target.value)} placeholder="0" />
          </Field>
        </div>
        <ErrorNote message={error} title="The image could not be created:" />
      </form>
    </Modal>
  );
}
