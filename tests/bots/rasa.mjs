// A stand-in for a Rasa bot: Rasa's REST channel (POST /webhooks/rest/webhook,
// {sender, message} in, [{recipient_id, text, buttons, custom}] out), with
// no dependency beyond Node. It greets, asks for an order number, and hands
// over with the number as context (a `custom` payload, as a Rasa
// human-handoff action sends it). "slow" answers after 5 s; "crash" is a 500.
// Prints its port on the first line of stdout, then `heard <message>` for
// each request.
import http from 'node:http';

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/webhooks/rest/webhook') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const { sender, message } = JSON.parse(body);
    console.log(`heard ${message}`);
    const reply = (messages) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messages.map((m) => ({ recipient_id: sender, ...m }))));
    };
    const order = /(\d{6,})/.exec(message);
    if (message.includes('crash')) {
      res.writeHead(500).end('boom');
    } else if (message.includes('slow')) {
      setTimeout(() => reply([{ text: 'sorry, I was slow' }]), 5000);
    } else if (order) {
      reply([
        { text: `Order ${order[1]} needs a person, one moment.` },
        { custom: { handoff: true, reason: 'order_issue', context: { order_no: order[1] } } },
      ]);
    } else {
      reply([{ text: 'Hi! What is your order number?', buttons: [{ title: 'I have none', payload: '/none' }] }]);
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
