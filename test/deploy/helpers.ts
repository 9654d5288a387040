// Shared helpers of the deploy tests (not a test file itself).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  generate,
  loadDeployModel,
  parseDeployConfig,
  type DeployConfigInput,
  type DeployFiles,
  type Manifest,
} from '../../src/deploy/index.js';

export const CNN = join(process.cwd(), 'test', 'fixtures', 'serve', 'cnn.onnx');

export const tempDir = (prefix = 'lathe-deploy-'): string => mkdtempSync(join(tmpdir(), prefix));

/** The files a target generates in memory (nothing written). */
export async function generated(
  input: Partial<DeployConfigInput> & Pick<DeployConfigInput, 'target'>,
): Promise<DeployFiles> {
  const c = parseDeployConfig({ model: CNN, name: 'fashion-cnn', namespace: 'ml', ...input });
  return generate(c, await loadDeployModel(c.model));
}

/** Every Kubernetes manifest among the files (YAML parsed back), kustomization excluded. */
export function manifestsOf(files: DeployFiles): { file: string; manifest: Manifest }[] {
  const out: { file: string; manifest: Manifest }[] = [];
  for (const [file, content] of files) {
    if (!/^(k8s|kserve|knative)\/.*\.yaml$/.test(file) || file.endsWith('kustomization.yaml')) continue;
    out.push({ file, manifest: parse(String(content)) as Manifest });
  }
  return out;
}
