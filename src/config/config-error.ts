// A bad configuration value: names the variable; the entry points turn it into a non-zero exit.
export class ConfigError extends Error {
  constructor (readonly variable: string, reason: string) {
    super(`Invalid configuration: ${variable} ${reason}`)
    this.name = 'ConfigError'
  }
}
