// Glance v2: images, upload with progress, visibility.
import { endpoints } from "./endpoints";
import { ApiError, describeError } from "./errors";
import { currentToken, del, get, patch, post, reportUnauthorized } from "./http";

const base = () => endpoints().image;

export type Visibility = "public" | "private" | "shared" | "community";

export interface Image {
  id: string;
  name: string | null;
  status: string;
  visibility: Visibility;
  size: number | null;
  disk_format: string | null;
  container_format: string | null;
  owner: string;
  created_at: string;
  min_disk?: number;
  min_ram?: number;
  protected?: boolean;
  [property: string]: unknown;
}

export const listImages = () => get<{ images: Image[] }>(`${base()}/images?limit=1000`).then((r) => r.images);

export interface NewImage {
  name: string;
  disk_format: string;
  container_format: string;
  visibility: Visibility;
  min_disk?: number;
  min_ram?: number;
}
export const createImage = (image: NewImage) => post<Image>(`${base()}/images`, image);
export const deleteImage = (id: string) => del(`${base()}/images/${id}`);

export const setVisibility = (id: string, visibility: Visibility) =>
  patch<Image>(`${base()}/images/${id}`, [{ op: "replace", path: "/visibility", value: visibility }], {
    headers: { "Content-Type": "application/openstack-images-v2.1-json-patch" },
  });

/** PUT the image data with XMLHttpRequest, which reports upload progress (fetch does not). */
export function uploadImageData(id: string, file: Blob, onProgress: (sent: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `${base()}/images/${id}/file`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    const token = currentToken();
    if (token) xhr.setRequestHeader("X-Auth-Token", token);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        if (xhr.status === 401) reportUnauthorized();
        reject(new ApiError(xhr.status, describeError(xhr.status, xhr.responseText)));
      }
    };
    xhr.onerror = () => reject(new TypeError("network error"));
    xhr.send(file);
  });
}
