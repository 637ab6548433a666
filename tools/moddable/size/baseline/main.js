// The baseline: the same manifests as the client apps, no client.
import { before, connected } from "size/common";
before();
connected();
