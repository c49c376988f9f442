import { randomBytes } from 'node:crypto'
import { chainIds } from '../src/transfer/layers.js'
import { legacyLayerIndex, rawMembers } from '../src/transfer/legacy-ids.js'
import { dropLayers } from '../src/transfer/tar-filter.js'
import { archiveEntries, chunked, tarOf } from './support/archive.js'
import { DOCKER20_DIFF_IDS, DOCKER20_LEGACY_JSON } from './support/docker20-save.js'

const chains = chainIds(DOCKER20_DIFF_IDS)

describe('legacyLayerIndex', () => {
  it("names the layer each <v1 id>/json of Docker 20.10's docker save announces, the top one included", () => {
    for (const [, json, index] of DOCKER20_LEGACY_JSON) expect(legacyLayerIndex(json, chains)).toBe(index)
  })

  it('names nothing when the JSON is not what Docker hashed, or when the layer is not in the image', () => {
    const [, json] = DOCKER20_LEGACY_JSON[0]
    expect(legacyLayerIndex(json.replace('1970-01-01T00:00:00Z', '1970-01-01T00:00:01Z'), chains)).toBeUndefined()
    expect(legacyLayerIndex(json.replace('"container_config":{', '"container_config": {'), chains)).toBeUndefined()
    expect(legacyLayerIndex(json, chains.slice(2))).toBeUndefined()
    expect(legacyLayerIndex('{}', chains)).toBeUndefined()
    expect(legacyLayerIndex('not json', chains)).toBeUndefined()
  })
})

describe('rawMembers', () => {
  it('keeps each value as written, nested objects and escaped quotes included', () => {
    expect(rawMembers('{"a":"x\\"}","b":[1,{"c":2}],"d":null}')).toEqual([
      ['a', '"x\\"}"'],
      ['b', '[1,{"c":2}]'],
      ['d', 'null']
    ])
    expect(rawMembers('{}')).toEqual([])
    expect(rawMembers('[1]')).toBeUndefined()
    expect(rawMembers('{"a":1} ')).toBeUndefined()
  })
})

describe('dropLayers on a legacy archive', () => {
  /** Docker 20.10's folders and json entries, with layer.tar bodies that hash to nothing known. */
  function legacyArchive(): Promise<Buffer> {
    const folders = [...DOCKER20_LEGACY_JSON].sort(([a], [b]) => (a < b ? -1 : 1))
    return tarOf([
      ...folders.flatMap(([folder, json]): [string, Buffer | string][] => [
        [`${folder}/VERSION`, '1.0'],
        [`${folder}/json`, json],
        [`${folder}/layer.tar`, randomBytes(20_000)]
      ]),
      ['manifest.json', '[]']
    ])
  }

  it('leaves out the shared layers the json entries name, without spooling or hashing anything', async () => {
    const bytes = await legacyArchive()
    const original = await archiveEntries(chunked(bytes))
    const shared = { ids: new Set(DOCKER20_DIFF_IDS.slice(0, 2)), diffIds: DOCKER20_DIFF_IDS }
    // A spool folder that cannot exist: spooling would fail the stream.
    const filter = dropLayers(chunked(bytes, 4096), Promise.resolve(shared), '/nonexistent/bluegreen-spool')
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(2)
    const left = DOCKER20_LEGACY_JSON.filter(([, , index]) => index < 2).map(([folder]) => `${folder}/layer.tar`)
    expect([...filtered.keys()]).toEqual([...original.keys()].filter((name) => !left.includes(name)))
    for (const [name, body] of filtered) expect(body.equals(original.get(name)!)).toBe(true)
  })
})
