'use strict';
// A function that is sometimes too slow: it works for `ms` milliseconds
// (default: a random 200-1500) against a one-second timeout, so some
// invocations time out, are killed, and the next one starts cold. The
// log line before the wait shows up in the timed-out invocation's span.
exports.handler = async (event) => {
  // A direct invoke sends {"ms": N}; the HTTP trigger, ?ms=N.
  const params = (event && (event.queryStringParameters || event)) || {};
  const ms = Number(params.ms) || 200 + Math.floor(Math.random() * 1300);
  console.log(`working for ${ms} ms`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { statusCode: 200, body: `done after ${ms} ms` };
};
