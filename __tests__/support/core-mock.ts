import { jest } from '@jest/globals'

/** A stand-in for @actions/core that records what the action logs, masks and outputs. */
export function coreMock() {
  const log: string[] = []
  const mock = {
    log,
    outputs: {} as Record<string, string>,
    secrets: [] as string[],
    failed: [] as string[],
    inputs: {} as Record<string, string>,
    getInput: jest.fn((name: string) => mock.inputs[name] ?? ''),
    setSecret: jest.fn((value: string) => void mock.secrets.push(value)),
    setOutput: jest.fn((name: string, value: string) => void (mock.outputs[name] = value)),
    setFailed: jest.fn((message: string) => void mock.failed.push(message)),
    info: jest.fn((line: string) => void log.push(line)),
    warning: jest.fn((line: string) => void log.push(`warning: ${line}`)),
    debug: jest.fn(),
    group: jest.fn(async <T>(title: string, body: () => Promise<T>): Promise<T> => {
      log.push(`group: ${title}`)
      return body()
    }),
    summary: {
      addRaw: jest.fn(() => mock.summary),
      write: jest.fn(async () => mock.summary)
    }
  }
  return mock
}

export type CoreMock = ReturnType<typeof coreMock>
