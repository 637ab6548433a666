// Modules the device app imports but the xsnap run does not provide (TLS, UDP DNS): the app
// reaches them only for mqtts:// or a broker given by name, which the run does not use.
export default class Unavailable {
  constructor() {
    throw new Error('not available in the xsnap device run');
  }
}
