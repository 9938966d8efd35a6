// autocannon verifyBody for GET /api/customers?limit=50 (CommonJS: loaded by autocannon's worker thread).
// A response counts as a mismatch unless it is a full page: 50 customers and a next cursor.
'use strict';
module.exports = function verifyCustomerPage(body) {
  try {
    const page = JSON.parse(body);
    return Array.isArray(page.data) && page.data.length === 50 && typeof page.nextCursor === 'string';
  } catch {
    return false;
  }
};
