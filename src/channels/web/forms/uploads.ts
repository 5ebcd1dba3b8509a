import type { ServiceContext } from "../../../core/context";
import { ServiceError } from "../../../core/errors";
import { uploadFile } from "../../../files";
import type { FormBody } from "./parse";

/** The file a browser chose under a name, if any: an untouched file input posts an empty File. */
export function chosenFile(value: FormBody[string] | undefined): File | undefined {
  return (Array.isArray(value) ? value : [value]).find((v): v is File => v !== undefined && typeof v !== "string" && v.size > 0);
}

/**
 * Stores a chosen file at once as `purpose` (a browser cannot send a chosen file again) and puts its id in the body
 * under `key`; refused (too large, a type not allowed, over the quota of files not yet submitted), the field is
 * emptied and the refusal's words returned, for the page to show under it.
 */
export async function storeChosenFile(ctx: ServiceContext, body: FormBody, key: string, file: File, purpose: string, maxBytes: number): Promise<string | null> {
  try {
    body[key] = (await uploadFile({ ctx, input: { name: file.name, content: new Uint8Array(await file.arrayBuffer()), purpose }, maxBytes })).id;
    return null;
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    body[key] = "";
    return err.message;
  }
}
