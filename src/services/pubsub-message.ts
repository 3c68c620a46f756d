import type { Delivery } from '../ports/event-bus';

/**
 * The CloudEvent Eventarc delivers for a Pub/Sub message (`google.cloud.pubsub.topic.v1.messagePublished`):
 * `data.message.data` is base64. Functions decode it here, so the same entry point serves Eventarc
 * in the cloud and the embedded bus locally (which wraps each delivery the same way).
 */
export interface MessagePublishedData {
  message: { data?: string; attributes?: Record<string, string>; messageId?: string; publishTime?: string };
  subscription?: string;
  deliveryAttempt?: number;
}

export function deliveryFromMessagePublished(
  data: MessagePublishedData | undefined,
): Pick<Delivery, 'data' | 'attributes' | 'messageId'> {
  const message = data?.message ?? {};
  return {
    data: message.data ? Buffer.from(message.data, 'base64').toString('utf8') : '',
    attributes: message.attributes ?? {},
    messageId: message.messageId ?? '',
  };
}

export function messagePublishedFromDelivery(delivery: Delivery, subscription: string): MessagePublishedData {
  return {
    message: {
      data: Buffer.from(delivery.data, 'utf8').toString('base64'),
      attributes: delivery.attributes,
      messageId: delivery.messageId,
      publishTime: delivery.publishTime,
    },
    subscription,
    deliveryAttempt: delivery.deliveryAttempt,
  };
}
