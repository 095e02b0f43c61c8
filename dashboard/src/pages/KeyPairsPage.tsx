// Key pairs: create (Nova generates it; the private key is offered for download once), import
// a public key, delete.
import { FormEvent, useState } from "react";
import { createKeypair, deleteKeypair, Keypair, listKeypairs } from "../api/compute";
import { errorText } from "../api/errors";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { Field, validate } from "../components/Field";
import { Icon } from "../components/Icon";
import { Modal } from "../components/Modal";
import { Card, EmptyState, Loading, PageHeader } from "../components/Page";
import { useResource } from "../hooks/useResource";

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/x-pem-file" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${name}.pem`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function KeyPairsPage() {
  const keypairs = useResource(listKeypairs, []);
  const [mode, setMode] = useState<"create" | "import" | null>(null);
  const [created, setCreated] = useState<Keypair | null>(null);
  const [toDelete, setToDelete] = useState<Keypair | null>(null);
  const list = keypairs.data ?? [];
  return (
    <>
      <PageHeader
        title="Key pairs"
        subtitle="SSH keys put into instances at boot."
        actions={
          <>
            <button type="button" className="btn" onClick={() => setMode("import")}><Icon name="upload" size={16} /> Import public key</button>
            <button type="button" className="btn btn-primary" onClick={() => setMode("create")}><Icon name="plus" size={16} /> Create key pair</button>
          </>
        }
      />
      <Card>
        <ErrorNote message={keypairs.error} />
        {keypairs.loading && !keypairs.data ? <Loading what="key pairs" /> : list.length === 0 ? (
          <EmptyState icon="key" title="No key pairs" hint="Create one (you download its private key once) or import your own public key." />
        ) : (
          <table className="table" data-testid="keypairs-table">
            <thead><tr><th>Name</th><th>Type</th><th>Fingerprint</th><th className="col-actions" /></tr></thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.name} data-testid="keypair-row" data-name={k.name}>
                  <td><strong>{k.name}</strong></td>
                  <td>{k.type ?? "ssh"}</td>
                  <td className="mono small">{k.fingerprint}</td>
                  <td className="col-actions">
                    <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setToDelete(k)}><Icon name="trash" size={14} /> Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {mode && (
        <KeypairDialog
          mode={mode}
          onClose={() => setMode(null)}
          onDone={(k) => {
            void keypairs.reload();
            if (k.private_key) {
              download(k.name, k.private_key);
              setCreated(k);
            }
          }}
        />
      )}
      {created && (
        <Modal title={`Private key of ${created.name}`} subtitle="Shown once: the cloud does not keep it." onClose={() => setCreated(null)}
          footer={<>
            <button type="button" className="btn" onClick={() => download(created.name, created.private_key ?? "")}><Icon name="download" size={15} /> Download again</button>
            <button type="button" className="btn btn-primary" onClick={() => setCreated(null)}>Done</button>
          </>}>
          <p>Your browser downloaded <strong>{created.name}.pem</strong>. Keep it safe; use it with <code>ssh -i {created.name}.pem</code>.</p>
          <pre className="key-text">{created.private_key}</pre>
        </Modal>
      )}
      {toDelete && (
        <ConfirmDialog title={`Delete key pair ${toDelete.name}?`} message="Instances that already have the key keep it." confirmLabel="Delete key pair"
          onClose={() => setToDelete(null)} onConfirm={async () => { await deleteKeypair(toDelete.name); void keypairs.reload(); }} />
      )}
    </>
  );
}

function KeypairDialog({ mode, onClose, onDone }: { mode: "create" | "import"; onClose: () => void; onDone: (k: Keypair) => void }) {
  const [name, setName] = useState("");
  const [publicKey, setPublicKey] = useState("");
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const errs = {
      name: validate.name(name, "The key pair name") ?? (/^[A-Za-z0-9_. -]+$/.test(name.trim()) ? null : "Use letters, digits, spaces, dots, dashes and underscores."),
      publicKey: mode === "import" && !/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+) \S+/.test(publicKey.trim()) ? "Paste an OpenSSH public key (ssh-ed25519 AAAA… or ssh-rsa AAAA…)." : null,
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setBusy(true);
    try {
      const k = await createKeypair(name.trim(), mode === "import" ? publicKey.trim() : undefined);
      onDone(k);
      onClose();
    } catch (er) {
      setError(errorText(er));
      setBusy(false);
    }
  };
  return (
    <Modal title={mode === "create" ? "Create key pair" : "Import public key"} onClose={onClose}
      footer={<>
        <button type="button" className="btn" onClick={onClose}>Cancel</button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()}>{mode === "create" ? "Create and download" : "Import"}</button>
      </>}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" htmlFor="kp-name" error={errors.name}>
          <input id="kp-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </Field>
        {mode === "import" && (
          <Field label="Public key" htmlFor="kp-public" error={errors.publicKey}>
            <textarea id="kp-public" rows={5} className="mono" value={publicKey} onChange={(e) => setPublicKey(e.target.value)} placeholder="ssh-ed25519 AAAA… user@host" />
          </Field>
        )}
        {mode === "create" && <p className="muted">The cloud generates the pair and sends the private key once; your browser downloads it.</p>}
        <ErrorNote message={error} />
      </form>
    </Modal>
  );
}
