// The runner's docker CLI gets an environment of its own instead of the action's. The action's
// holds every input as INPUT_* (the private key, its passphrase, the app's env) and whatever the
// job set before this step (tokens, registry passwords); a child has no business with any of it,
// and the CLI would hand it on to each plugin and credential helper it starts.

/** By name, never by prefix: DOCKER_PASSWORD and DOCKER_TOKEN are common names for a job's secrets. */
const ALLOWED = [
  // Finding the CLI, its plugins and credential helpers, and its config (~/.docker).
  'PATH', 'HOME', 'USER', 'LOGNAME',
  // Which engine the CLI talks to and how (Docker's documented CLI variables).
  'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_API_VERSION', 'DOCKER_CERT_PATH', 'DOCKER_TLS',
  'DOCKER_TLS_VERIFY', 'DOCKER_CUSTOM_HEADERS', 'DOCKER_DEFAULT_PLATFORM',
  // Rootless Docker keeps its socket under the user's runtime dir.
  'XDG_RUNTIME_DIR',
  // An ssh:// DOCKER_HOST: the CLI runs ssh, which asks the agent for the key.
  'SSH_AUTH_SOCK',
  // A tcp:// DOCKER_HOST reached through the runner's proxy.
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  // Messages in the runner's language and time zone; temporary files where the runner keeps them.
  'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ', 'TMPDIR',
  // Windows: programs do not start without these.
  'SystemRoot', 'ComSpec', 'PATHEXT', 'windir', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA', 'ProgramData',
  'ProgramFiles', 'TEMP', 'TMP'
]

/** The variables of `env` (default: this process's) that a docker CLI child needs, and no others. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {}
  // Looked up by name, not copied by key: on Windows process.env finds a name in any case.
  for (const name of ALLOWED) {
    const value = env[name]
    if (value !== undefined) picked[name] = value
  }
  return picked
}
