// A cross-check of the generated objects: every probe of every workload points at one of the server's routes and
// at a port the container declares; the Service, PDB, NetworkPolicy and ServiceMonitor select exactly the pods
// the workload labels; the HPA/KEDA/Rollout targets name the workload; the Service's target port exists. deploy()
// runs it before writing anything, and its test mutates each field to see it fail.
import { ROUTES } from './contract.js';
import type { Manifest } from './manifest.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const SERVER_ROUTES = new Set<string>([ROUTES.live, ROUTES.ready]);

function selects(selector: unknown, labels: Obj): boolean {
  const want = obj(selector);
  const keys = Object.keys(want);
  return keys.length > 0 && keys.every((k) => labels[k] === want[k]);
}

/** The problems found (empty = consistent). */
export function checkConsistency(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const workloads = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'Rollout');
  for (const w of workloads) {
    const where = `${w.kind}/${w.metadata.name}`;
    const spec = obj(w.spec);
    const template = obj(spec.template);
    const podLabels = obj(obj(template.metadata).labels);
    if (!selects(obj(spec.selector).matchLabels, podLabels))
      problems.push(`${where}: spec.selector does not match the pod template's labels`);
    for (const container of arr(obj(template.spec).containers).map(obj)) {
      const ports = arr(container.ports).map(obj);
      const names = new Set(ports.map((p) => p.name));
      const numbers = new Set(ports.map((p) => p.containerPort));
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        const http = obj(obj(container[kind]).httpGet);
        if (Object.keys(http).length === 0) {
          problems.push(`${where}: container ${String(container.name)} has no ${kind}`);
          continue;
        }
        if (!SERVER_ROUTES.has(String(http.path)))
          problems.push(
            `${where}: ${kind} path ${String(http.path)} is not a health route of lathe serve (${[...SERVER_ROUTES].join(', ')})`,
          );
        if (!names.has(http.port) && !numbers.has(http.port))
          problems.push(
            `${where}: ${kind} port ${String(http.port)} is not a port of container ${String(container.name)}`,
          );
      }
      if (obj(obj(container.livenessProbe).httpGet).path === ROUTES.ready)
        problems.push(`${where}: the liveness probe watches readiness (a draining pod would be killed)`);
    }
    const containerPorts = arr(obj(template.spec).containers).flatMap((c) => arr(obj(c).ports).map(obj));
    for (const m of manifests) {
      const mSpec = obj(m.spec);
      const id = `${m.kind}/${m.metadata.name}`;
      if (m.kind === 'Service') {
        if (!selects(mSpec.selector, podLabels) || Object.keys(obj(mSpec.selector)).some((k) => !(k in podLabels)))
          problems.push(`${id}: selector does not select the pods of ${where}`);
        for (const p of arr(mSpec.ports).map(obj)) {
          if (!containerPorts.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort))
            problems.push(`${id}: targetPort ${String(p.targetPort)} is not a container port of ${where}`);
        }
      }
      if (m.kind === 'PodDisruptionBudget' && !selects(obj(mSpec.selector).matchLabels, podLabels))
        problems.push(`${id}: selector does not select the pods of ${where}`);
      if (m.kind === 'NetworkPolicy') {
        if (!selects(obj(mSpec.podSelector).matchLabels, podLabels))
          problems.push(`${id}: podSelector does not select the pods of ${where}`);
        for (const rule of arr(mSpec.ingress).map(obj)) {
          for (const p of arr(rule.ports).map(obj))
            if (!containerPorts.some((cp) => cp.containerPort === p.port || cp.name === p.port))
              problems.push(`${id}: ingress port ${String(p.port)} is not a container port of ${where}`);
        }
      }
      if (m.kind === 'HorizontalPodAutoscaler' || m.kind === 'ScaledObject') {
        const ref = obj(mSpec.scaleTargetRef);
        if (ref.name !== w.metadata.name || (ref.kind ?? 'Deployment') !== w.kind)
          problems.push(`${id}: scaleTargetRef ${String(ref.kind)}/${String(ref.name)} is not ${where}`);
      }
    }
  }
  const services = manifests.filter((m) => m.kind === 'Service' && m.apiVersion === 'v1');
  for (const m of manifests.filter((x) => x.kind === 'ServiceMonitor')) {
    const spec = obj(m.spec);
    if (!services.some((s) => selects(obj(spec.selector).matchLabels, obj(s.metadata.labels))))
      problems.push(`ServiceMonitor/${m.metadata.name}: selects no generated Service`);
    for (const e of arr(spec.endpoints).map(obj)) {
      if (e.path !== ROUTES.metrics)
        problems.push(
          `ServiceMonitor/${m.metadata.name}: path ${String(e.path)} is not lathe serve's ${ROUTES.metrics}`,
        );
      if (!services.some((s) => arr(obj(s.spec).ports).some((p) => obj(p).name === e.port)))
        problems.push(`ServiceMonitor/${m.metadata.name}: port ${String(e.port)} is not a named Service port`);
    }
  }
  return problems;
}
