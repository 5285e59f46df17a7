// A loopback port nothing listens on now (the OS picks it), so a smoke check never collides with the
// machine's own services (Postgres on 5432, RabbitMQ on 5672, Redis on 6379) or with a running test.
const net = require('node:net')

async function freePort () {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)) })
  })
}

module.exports = { freePort }
