// A Kubernetes object as plain data, and the file it is written to.

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

/** A Kubernetes object as the deploy targets generate it: apiVersion, kind, metadata and any other fields as JSON. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: Json | undefined | Manifest['metadata'];
}

/** A manifest and the file (relative to the deploy folder) it goes to. */
export interface ManifestFile {
  readonly file: string;
  readonly manifest: Manifest;
}
