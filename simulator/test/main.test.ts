import { DEFAULT_CLOUD_ID, optionsFromEnv, runFromEnv } from '../src/main'
import { http } from './helpers'

describe('simulator: standalone process configuration', () => {
  it('reads its options from the environment', () => {
    expect(optionsFromEnv({ SIMULATOR_SEED: 'abc', SIMULATOR_SIZE: '500', SIMULATOR_AUTO_CONSENT: 'true', SIMULATOR_SPARSE: 'true', SPOKE_PUBLIC_URL: 'http://spoke:3000' }))
      .toMatchObject({ port: 4010, seed: 'abc', size: 500, autoConsent: true, sparse: true, redirectUriPrefix: 'http://spoke:3000' })
    expect(optionsFromEnv({}).sparse).toBe(false)
    expect(() => optionsFromEnv({ SIMULATOR_SIZE: 'lots' })).toThrow(/SIMULATOR_SIZE/)
  })

  it('starts, answers and stops', async () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const sim = await runFromEnv({ SIMULATOR_PORT: '0', SIMULATOR_SIZE: '10' })
    try {
      expect(write.mock.calls[0][0]).toContain(sim.url)
      expect((await http(`${sim.url}/__sim/info`)).body.defaultCloudId).toBe(DEFAULT_CLOUD_ID)
    } finally {
      write.mockRestore()
      await sim.close()
    }
  })
})
