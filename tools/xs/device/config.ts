// `mc/config` for the device app in xsnap: what tools/xs/device.mjs sets before loading the app.
export default (globalThis as any).xsDeviceConfig as Record<string, unknown>;
