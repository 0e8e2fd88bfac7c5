// Call Interactive responder in plain Node `http`: what an integrator would write instead of the
// panel's listener. Same route and token check, the same five rules, the same XML replies.
//   node server.js PORT TOKEN
'use strict';
const http = require('http');

const port = Number(process.argv[2] || 8790);
const token = process.argv[3] || 'token';
const route = `/hooks/${token}/ivr`;

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const EMPTY = DECL + '<Response/>';
const HANGUP = DECL + '<Response>\n    <Hangup/>\n</Response>';
const VIP = DECL + '<Response>\n    <SimpleTransfer final="no" timeout="20">101,102</SimpleTransfer>\n</Response>';
const ENGLISH = DECL + '<Response>\n    <Jump context="3" option="en"/>\n</Response>';
const CLOSED = DECL + '<Response>\n    <PlaySound>closed.wav</PlaySound>\n    <Hangup/>\n</Response>';
const SALES = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n    <SetVar name=\"route\">sales</SetVar>\n    <PlaySound where=\"background\">sales-greeting.wav</PlaySound>\n    <SimpleTransfer final=\"no\" timeout=\"25\">201,202,203</SimpleTransfer>\n</Response>";

const VIP_NUMBERS = new Set(Array.from({ length: 20 }, (_, i) => '749512345' + String(i).padStart(2, '0')));
const OPEN_DAYS = [0, 1, 2, 3, 4, 5, 6];

const number = (s) => (s || '').replace(/[ \-().]/g, '').replace(/^\+/, '');
const text = (s) => (s || '').trim().toLowerCase();

function variable(params, name) {
  for (const [k, v] of params) if (k.toLowerCase() === name) return v;
  return '';
}

function reply(params) {
  const caller = number(params.get('CallerIDNum'));
  if (caller.startsWith('8800')) return HANGUP;
  if (VIP_NUMBERS.has(caller)) return VIP;
  if (text(variable(params, 'lang')) === 'en') return ENGLISH;
  if (OPEN_DAYS.includes(new Date().getDay()) && caller.startsWith('7495')) return CLOSED;
  if (number(params.get('CalledNumber')) === '332' && text(params.get('CallerIDName')) !== '') return SALES;
  return EMPTY;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== route || (req.method !== 'GET' && req.method !== 'POST')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 65536) chunks.push(c);
  });
  req.on('end', () => {
    if (size > 65536) {
      res.writeHead(413, { 'Content-Type': 'text/plain' });
      res.end('too large');
      return;
    }
    const params = req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString()) : url.searchParams;
    if (!params.get('CallID') && !params.get('CallAPIID')) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('CallID is missing');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/xml' });
    res.end(reply(params));
  });
});
server.keepAliveTimeout = 75000;
server.listen(port, '127.0.0.1', () => console.log(`READY http://127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
