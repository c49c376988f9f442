import { describeAttempt } from '../src/host/health.js'

describe('describeAttempt', () => {
  it('says what the probe got, and the HEALTHCHECK when the image has one', () => {
    expect(describeAttempt('ATTEMPT 3 STATUS 502 SLOT none HEALTH starting')).toBe('attempt 3: HTTP 502, HEALTHCHECK starting')
    expect(describeAttempt('ATTEMPT 1 STATUS 000 SLOT none HEALTH none')).toBe('attempt 1: no HTTP answer yet')
  })

  it('names the replica when a slot has several', () => {
    expect(describeAttempt('ATTEMPT 2 STATUS 200 SLOT blue HEALTH none REPLICA web-blue-2')).toBe('web-blue-2: attempt 2: HTTP 200')
  })
})
