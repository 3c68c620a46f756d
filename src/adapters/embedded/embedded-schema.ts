/**
 * Schema migrations of the embedded database, applied in order and recorded in `schema_version`.
 * Append new versions; never edit one that has shipped (a user's `.himas/himas.duckdb` already ran it).
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents',
    statements: [
      // `data` is JSON text (VARCHAR rather than the JSON type, so no extension has to load);
      // `data::JSON` works in queries. `parent_collection` + `id` serve list().
      `CREATE TABLE documents (
         path VARCHAR PRIMARY KEY,
         parent_collection VARCHAR NOT NULL,
         id VARCHAR NOT NULL,
         data VARCHAR NOT NULL,
         update_time TIMESTAMP NOT NULL
       )`,
    ],
  },
  {
    version: 2,
    name: 'event bus',
    statements: [
      // `seq` is the publish order (ordering keys); the message id is its decimal text.
      `CREATE SEQUENCE bus_message_seq START 1`,
      `CREATE TABLE bus_messages (
         seq BIGINT PRIMARY KEY,
         id VARCHAR NOT NULL,
         topic VARCHAR NOT NULL,
         data VARCHAR NOT NULL,
         attributes VARCHAR NOT NULL,
         ordering_key VARCHAR,
         publish_time VARCHAR NOT NULL
       )`,
      `CREATE TABLE bus_subscriptions (
         name VARCHAR PRIMARY KEY,
         topic VARCHAR NOT NULL,
         max_delivery_attempts INTEGER NOT NULL,
         dead_letter_topic VARCHAR
       )`,
      // attempts = deliveries started; it is written before the handler runs, so a message that
      // crashes the process still counts towards dead-lettering. next_attempt_at is epoch ms.
      `CREATE TABLE bus_deliveries (
         subscription VARCHAR NOT NULL,
         message_seq BIGINT NOT NULL,
         attempts INTEGER NOT NULL,
         state VARCHAR NOT NULL,
         next_attempt_at BIGINT NOT NULL,
         last_error VARCHAR,
         PRIMARY KEY (subscription, message_seq)
       )`,
    ],
  },
];
