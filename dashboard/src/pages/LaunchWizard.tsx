// The launch wizard: every step has a sensible default, so "Launch instance" then "Launch"
// creates a server; "count" launches N at once (min_count = max_count = N).
import { useEffect, useMemo, useState } from "react";
import * as compute from "../api/compute";
import { errorText } from "../api/errors";
import { Image, listImages } from "../api/image";
import * as net from "../api/network";
import { ErrorNote } from "../components/ErrorNote";
import { Field } from "../components/Field";
import { Icon } from "../components/Icon";
import { Modal } from "../components/Modal";
import { formatBytes, formatMiB, Loading } from "../components/Page";
import { useResource } from "../hooks/useResource";

const STEPS = ["Details", "Source", "Flavor", "Networks", "Security", "Configuration"] as const;
type Step = (typeof STEPS)[number];

interface Choices {
  name: string;
  count: number;
  imageId: string;
  flavorId: string;
  networkIds: string[];
  keyName: string;
  securityGroups: string[];
  userData: string;
}

/** Images a server can boot from (not the kernel and ramdisk parts of a split image). */
function bootable(images: Image[]): Image[] {
  return images.filter((i) => i.status === "active" && i.disk_format !== "aki" && i.disk_format !== "ari");
}

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  bytes.forEach((b) => (bin += String.fromCharCode(b)));
  return btoa(bin);
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 6);
}

interface Catalog {
  images: Image[];
  flavors: compute.Flavor[];
  networks: net.Network[];
  keypairs: compute.Keypair[];
  groups: net.SecurityGroup[];
  limits: compute.ComputeLimits;
}

async function loadCatalog(): Promise<Catalog> {
  const [images, flavors, networks, keypairs, groups, limits] = await Promise.all([
    listImages(),
    compute.listFlavors(),
    net.listNetworks(),
    compute.listKeypairs(),
    net.listSecurityGroups(),
    compute.computeLimits(),
  ]);
  return { images: bootable(images), flavors: flavors.sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram), networks, keypairs, groups, limits };
}

function defaults(c: Catalog): Choices {
  const image = c.images.find((i) => i.name === "guest") ?? c.images[0];
  const fits = (f: compute.Flavor) => !image || (f.disk >= (image.min_disk ?? 0) && f.ram >= (image.min_ram ?? 0));
  const flavor = c.flavors.find((f) => f.name === "m1.micro" && fits(f)) ?? c.flavors.find(fits) ?? c.flavors[0];
  const tenantNets = c.networks.filter((n) => !n["router:external"] && n.subnets.length > 0);
  return {
    name: `vm-${randomSuffix()}`,
    count: 1,
    imageId: image?.id ?? "",
    flavorId: flavor?.id ?? "",
    networkIds: tenantNets.length ? [tenantNets[tenantNets.length - 1].id] : [],
    keyName: c.keypairs[0]?.name ?? "",
    securityGroups: c.groups.some((g) => g.name === "default") ? ["default"] : [],
    userData: "",
  };
}

function problems(ch: Choices, c: Catalog): Partial<Record<Step, string>> {
  const out: Partial<Record<Step, string>> = {};
  const remaining = c.limits.maxTotalInstances < 0 ? Infinity : c.limits.maxTotalInstances - c.limits.totalInstancesUsed;
  if (!ch.name.trim()) out.Details = "Give the instance a name.";
  else if (!/^[A-Za-z0-9][A-Za-z0-9._ -]*$/.test(ch.name.trim())) out.Details = "Use letters, digits, dots, dashes and underscores in the name.";
  else if (!Number.isInteger(ch.count) || ch.count < 1) out.Details = "The count must be a whole number of at least 1.";
  else if (ch.count > remaining) out.Details = `The project's quota allows ${Math.max(0, remaining)} more instance${remaining === 1 ? "" : "s"}.`;
  const image = c.images.find((i) => i.id === ch.imageId);
  const flavor = c.flavors.find((f) => f.id === ch.flavorId);
  if (!image) out.Source = "Choose an image to boot from.";
  if (!flavor) out.Flavor = "Choose a flavor.";
  else if (image && flavor.disk > 0 && flavor.disk < (image.min_disk ?? 0)) out.Flavor = `${image.name} needs a disk of at least ${image.min_disk} GiB.`;
  else if (image && flavor.ram < (image.min_ram ?? 0)) out.Flavor = `${image.name} needs at least ${image.min_ram} MiB of RAM.`;
  else {
    const cores = c.limits.maxTotalCores - c.limits.totalCoresUsed;
    if (c.limits.maxTotalCores >= 0 && flavor.vcpus * ch.count > cores) out.Flavor = `${ch.count} × ${flavor.vcpus} vCPUs is over the ${cores} vCPUs left in the quota.`;
  }
  if (ch.networkIds.length === 0) out.Networks = "Attach the instance to at least one network.";
  if (ch.userData.length > 65535) out.Configuration = "User data is limited to 64 KiB.";
  return out;
}

export function LaunchWizard({ onClose, onLaunched }: { onClose: () => void; onLaunched: (message: string) => void }) {
  const catalog = useResource(loadCatalog, []);
  const [choices, setChoices] = useState<Choices | null>(null);
  const [step, setStep] = useState<Step>("Details");
  const [showProblems, setShowProblems] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (catalog.data && !choices) setChoices(defaults(catalog.data));
  }, [catalog.data, choices]);

  const issues = useMemo(() => (choices && catalog.data ? problems(choices, catalog.data) : {}), [choices, catalog.data]);
  const set = (patch: Partial<Choices>) => setChoices((c) => (c ? { ...c, ...patch } : c));
  const index = STEPS.indexOf(step);

  const launch = async () => {
    if (!choices || !catalog.data) return;
    setShowProblems(true);
    const first = STEPS.find((s) => issues[s]);
    if (first) {
      setStep(first);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await compute.createServer({
        name: choices.name.trim(),
        imageRef: choices.imageId,
        flavorRef: choices.flavorId,
        networks: choices.networkIds.map((uuid) => ({ uuid })),
        security_groups: choices.securityGroups.map((name) => ({ name })),
        ...(choices.keyName ? { key_name: choices.keyName } : {}),
        ...(choices.userData ? { user_data: toBase64(choices.userData) } : {}),
        min_count: choices.count,
        max_count: choices.count,
      });
      onLaunched(choices.count > 1 ? `Launching ${choices.count} instances named ${choices.name.trim()}-1 … -${choices.count}.` : `Launching ${choices.name.trim()}.`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  const c = catalog.data;
  return (
    <Modal
      title="Launch instance"
      subtitle="Defaults are filled in: check each step or launch straight away."
      onClose={onClose}
      wide
      testId="launch-wizard"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <div className="spacer" />
          <button type="button" className="btn" disabled={index === 0} onClick={() => setStep(STEPS[index - 1])}>Back</button>
          <button type="button" className="btn" disabled={index === STEPS.length - 1} onClick={() => setStep(STEPS[index + 1])}>Next</button>
          <button type="button" className="btn btn-primary" disabled={busy || !choices} onClick={() => void launch()} data-testid="wizard-launch">
            <Icon name="play" size={15} /> {busy ? "Launching…" : choices && choices.count > 1 ? `Launch ${choices.count} instances` : "Launch"}
          </button>
        </>
      }
    >
      <ErrorNote message={catalog.error} title="What the wizard needs could not be loaded:" />
      {!c || !choices ? (
        !catalog.error && <Loading what="images, flavors and networks" />
      ) : (
        <div className="wizard">
          <ol className="wizard-steps">
            {STEPS.map((s, i) => (
              <li key={s}>
                <button type="button" className={`wizard-step${s === step ? " current" : ""}${showProblems && issues[s] ? " invalid" : ""}`} onClick={() => setStep(s)}>
                  <span className="wizard-step-num">{showProblems && issues[s] ? "!" : i < index ? <Icon name="check" size={13} /> : i + 1}</span>
                  <span className="wizard-step-label">{s}</span>
                  <span className="wizard-step-summary">{summary(s, choices, c)}</span>
                </button>
              </li>
            ))}
          </ol>
          <div className="wizard-panel" data-step={step}>
            {showProblems && issues[step] && <ErrorNote message={issues[step]} />}
            {step === "Details" && <DetailsStep choices={choices} set={set} limits={c.limits} />}
            {step === "Source" && <SourceStep choices={choices} set={set} images={c.images} />}
            {step === "Flavor" && <FlavorStep choices={choices} set={set} flavors={c.flavors} />}
            {step === "Networks" && <NetworksStep choices={choices} set={set} networks={c.networks} />}
            {step === "Security" && <SecurityStep choices={choices} set={set} keypairs={c.keypairs} groups={c.groups} />}
            {step === "Configuration" && <ConfigurationStep choices={choices} set={set} />}
            <ErrorNote message={error} title="The cloud refused to launch:" />
          </div>
        </div>
      )}
    </Modal>
  );
}

function summary(step: Step, ch: Choices, c: Catalog): string {
  switch (step) {
    case "Details":
      return ch.count > 1 ? `${ch.name} × ${ch.count}` : ch.name;
    case "Source":
      return c.images.find((i) => i.id === ch.imageId)?.name ?? "none";
    case "Flavor":
      return c.flavors.find((f) => f.id === ch.flavorId)?.name ?? "none";
    case "Networks":
      return ch.networkIds.map((id) => c.networks.find((n) => n.id === id)?.name).join(", ") || "none";
    case "Security":
      return [ch.keyName || "no key", ...ch.securityGroups].join(", ");
    case "Configuration":
      return ch.userData ? `user data, ${ch.userData.length} chars` : "no user data";
  }
}

type StepProps = { choices: Choices; set: (p: Partial<Choices>) => void };

function DetailsStep({ choices, set, limits }: StepProps & { limits: compute.ComputeLimits }) {
  const remaining = limits.maxTotalInstances < 0 ? "unlimited" : String(limits.maxTotalInstances - limits.totalInstancesUsed);
  return (
    <>
      <h3>Details</h3>
      <Field label="Instance name" htmlFor="wiz-name" hint={choices.count > 1 ? `Named ${choices.name}-1 to ${choices.name}-${choices.count}.` : undefined}>
        <input id="wiz-name" value={choices.name} onChange={(e) => set({ name: e.target.value })} autoFocus />
      </Field>
      <Field label="Count" htmlFor="wiz-count" hint={`How many identical instances to launch. The quota allows ${remaining} more.`}>
        <input id="wiz-count" type="number" min={1} value={Number.isNaN(choices.count) ? "" : choices.count} onChange={(e) => set({ count: e.target.valueAsNumber })} className="input-narrow" />
      </Field>
    </>
  );
}

function SourceStep({ choices, set, images }: StepProps & { images: Image[] }) {
  return (
    <>
      <h3>Boot source</h3>
      <div className="choice-list">
        {images.length === 0 && <p className="muted">No bootable image yet: upload one under Images.</p>}
        {images.map((i) => (
          <label key={i.id} className={i.id === choices.imageId ? "choice selected" : "choice"}>
            <input type="radio" name="image" checked={i.id === choices.imageId} onChange={() => set({ imageId: i.id })} />
            <Icon name="image" />
            <div className="choice-main">
              <strong>{i.name ?? i.id}</strong>
              <span className="muted">{i.disk_format} · {formatBytes(i.size)} · {i.visibility}</span>
            </div>
          </label>
        ))}
      </div>
    </>
  );
}

function FlavorStep({ choices, set, flavors }: StepProps & { flavors: compute.Flavor[] }) {
  return (
    <>
      <h3>Flavor</h3>
      <table className="table table-compact">
        <thead>
          <tr><th /><th>Name</th><th>vCPUs</th><th>RAM</th><th>Disk</th></tr>
        </thead>
        <tbody>
          {flavors.map((f) => (
            <tr key={f.id} className={f.id === choices.flavorId ? "selected" : ""} onClick={() => set({ flavorId: f.id })}>
              <td><input type="radio" name="flavor" aria-label={f.name} checked={f.id === choices.flavorId} onChange={() => set({ flavorId: f.id })} /></td>
              <td><strong>{f.name}</strong></td>
              <td>{f.vcpus}</td>
              <td>{formatMiB(f.ram)}</td>
              <td>{f.disk} GiB</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function NetworksStep({ choices, set, networks }: StepProps & { networks: net.Network[] }) {
  const toggle = (id: string) =>
    set({ networkIds: choices.networkIds.includes(id) ? choices.networkIds.filter((x) => x !== id) : [...choices.networkIds, id] });
  return (
    <>
      <h3>Networks</h3>
      <div className="choice-list">
        {networks.length === 0 && <p className="muted">No network yet: create one under Networks.</p>}
        {networks.map((n) => (
          <label key={n.id} className={choices.networkIds.includes(n.id) ? "choice selected" : "choice"}>
            <input type="checkbox" checked={choices.networkIds.includes(n.id)} onChange={() => toggle(n.id)} />
            <Icon name="network" />
            <div className="choice-main">
              <strong>{n.name || n.id}</strong>
              <span className="muted">
                {n["router:external"] ? "external" : n.shared ? "shared" : "project"} · {n.subnets.length} subnet{n.subnets.length === 1 ? "" : "s"}
              </span>
            </div>
          </label>
        ))}
      </div>
    </>
  );
}

function SecurityStep({ choices, set, keypairs, groups }: StepProps & { keypairs: compute.Keypair[]; groups: net.SecurityGroup[] }) {
  const toggle = (name: string) =>
    set({ securityGroups: choices.securityGroups.includes(name) ? choices.securityGroups.filter((x) => x !== name) : [...choices.securityGroups, name] });
  return (
    <>
      <h3>Key pair and security groups</h3>
      <Field label="Key pair" htmlFor="wiz-key" hint="Its public key is put into the instance through the metadata service.">
        <select id="wiz-key" value={choices.keyName} onChange={(e) => set({ keyName: e.target.value })}>
          <option value="">No key pair</option>
          {keypairs.map((k) => (
            <option key={k.name} value={k.name}>{k.name}</option>
          ))}
        </select>
      </Field>
      <div className="field">
        <label>Security groups</label>
        <div className="choice-list">
          {groups.map((g) => (
            <label key={g.id} className={choices.securityGroups.includes(g.name) ? "choice selected" : "choice"}>
              <input type="checkbox" checked={choices.securityGroups.includes(g.name)} onChange={() => toggle(g.name)} />
              <Icon name="shield" />
              <div className="choice-main">
                <strong>{g.name}</strong>
                <span className="muted">{g.security_group_rules.length} rules{g.description ? ` · ${g.description}` : ""}</span>
              </div>
            </label>
          ))}
        </div>
      </div>
    </>
  );
}

function ConfigurationStep({ choices, set }: StepProps) {
  return (
    <>
      <h3>Configuration</h3>
      <Field label="User data" htmlFor="wiz-userdata" hint="A cloud-config or a script, run by the instance at first boot (sent base64-encoded).">
        <textarea id="wiz-userdata" rows={9} className="mono" placeholder={"#!/bin/sh\necho hello from user data"} value={choices.userData} onChange={(e) => set({ userData: e.target.value })} />
      </Field>
    </>
  );
}
