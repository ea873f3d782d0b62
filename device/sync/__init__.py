"""Store-and-forward of audit entries over MQTT: the device publisher and the central receiver.

An entry counts as delivered only when the central receiver has verified and stored it and says
so on the device's ack topic; the broker's PUBACK is never taken for delivery.
"""
