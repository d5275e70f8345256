// One CRC16 for calltrack: the script runner needs it too (to share a script's load per node).
export { redisClusterSlot } from '@calltrack/redis-script';
