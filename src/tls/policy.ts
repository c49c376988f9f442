// The TLS settings the action chose, in one place for the config, the deploy and the renewal.

/** HSTS max-age: one year, long enough that browsers keep it between visits, short of the two a preload list wants. */
export const HSTS_MAX_AGE = 31_536_000

/** Days before expiry from which a deploy (and the daily pass) gets a new certificate: Let's Encrypt's 90-day ones at two thirds. */
export const RENEW_WITHIN_DAYS = 30
