/**
 * Network: one VPC over 2 AZs (prod 3). Public subnets hold only the ALB and the NAT gateways;
 * app subnets (web and worker instances) reach the internet only through NAT and AWS services
 * through VPC endpoints; data subnets (RDS, ElastiCache) have no route out at all.
 *
 * NAT: prod runs one NAT gateway per AZ, so losing an AZ never cuts the others' egress (apt,
 * the RDS CA bundle, Debian security updates). Dev shares one: ~1/2 to 1/3 of the NAT cost, and
 * if its AZ fails, instances in the other AZ lose internet egress (AWS APIs still work through the
 * endpoints, so running instances keep serving; new ones cannot finish apt at boot).
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { NetworkConfig } from './config';
import type { Tagger } from './tags';

export interface NetworkArgs {
  config: NetworkConfig;
  region: string;
  tag: Tagger;
}

/** Interface endpoints instances need with no public IP: SSM Session Manager, secrets, logs and metrics. */
export const INTERFACE_ENDPOINTS = [
  'ssm',
  'ssmmessages',
  'ec2messages',
  'secretsmanager',
  'logs',
  'monitoring',
] as const;

export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly appSubnetIds: pulumi.Output<string>[];
  readonly dataSubnetIds: pulumi.Output<string>[];
  readonly appRouteTableIds: pulumi.Output<string>[];
  readonly endpointSecurityGroup: aws.ec2.SecurityGroup;
  readonly s3Endpoint: aws.ec2.VpcEndpoint;
  readonly natGateways: aws.ec2.NatGateway[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Network', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const octet = c.cidr.split('.')[1];
    const azs = aws.getAvailabilityZonesOutput({ state: 'available' }, p);
    const az = (i: number) => azs.names.apply((n) => n[i]);

    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: c.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tag('vpc') },
      p,
    );
    // The default security group of a VPC allows all traffic between its members: emptied.
    new aws.ec2.DefaultSecurityGroup(
      `${name}-default-sg`,
      { vpcId: this.vpc.id, ingress: [], egress: [], tags: tag('default-sg-unused') },
      p,
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: tag('igw') }, p);

    const indexes = [...Array(c.azCount).keys()];
    const subnet = (tier: string, i: number, cidr: string, isPublic: boolean) =>
      new aws.ec2.Subnet(
        `${name}-${tier}-${i}`,
        {
          vpcId: this.vpc.id,
          cidrBlock: cidr,
          availabilityZone: az(i),
          mapPublicIpOnLaunch: false,
          tags: tag(`${tier}-${i}`, { tier, public: String(isPublic) }),
        },
        p,
      );
    const publicSubnets = indexes.map((i) => subnet('public', i, `10.${octet}.${i}.0/24`, true));
    const appSubnets = indexes.map((i) => subnet('app', i, `10.${octet}.${16 + i * 4}.0/22`, false));
    const dataSubnets = indexes.map((i) => subnet('data', i, `10.${octet}.${64 + i}.0/24`, false));

    const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: this.vpc.id, tags: tag('public-rt') }, p);
    new aws.ec2.Route(
      `${name}-public-default`,
      { routeTableId: publicRt.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id },
      p,
    );
    publicSubnets.forEach(
      (s, i) =>
        new aws.ec2.RouteTableAssociation(`${name}-public-rta-${i}`, { subnetId: s.id, routeTableId: publicRt.id }, p),
    );

    const natCount = c.natPerAz ? c.azCount : 1;
    this.natGateways = [...Array(natCount).keys()].map((i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-eip-${i}`, { domain: 'vpc', tags: tag(`nat-eip-${i}`) }, p);
      return new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: tag(`nat-${i}`) },
        { parent: this, dependsOn: [igw] },
      );
    });

    const appRts = indexes.map((i) => {
      const rt = new aws.ec2.RouteTable(`${name}-app-rt-${i}`, { vpcId: this.vpc.id, tags: tag(`app-rt-${i}`) }, p);
      new aws.ec2.Route(
        `${name}-app-default-${i}`,
        {
          routeTableId: rt.id,
          destinationCidrBlock: '0.0.0.0/0',
          natGatewayId: this.natGateways[c.natPerAz ? i : 0].id,
        },
        p,
      );
      new aws.ec2.RouteTableAssociation(`${name}-app-rta-${i}`, { subnetId: appSubnets[i].id, routeTableId: rt.id }, p);
      return rt;
    });
    // Data subnets: a route table with only the VPC's local route.
    const dataRt = new aws.ec2.RouteTable(`${name}-data-rt`, { vpcId: this.vpc.id, tags: tag('data-rt') }, p);
    dataSubnets.forEach(
      (s, i) =>
        new aws.ec2.RouteTableAssociation(`${name}-data-rta-${i}`, { subnetId: s.id, routeTableId: dataRt.id }, p),
    );

    // S3 through a gateway endpoint (free, and release downloads skip the NAT's per-GB charge).
    this.s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${args.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: appRts.map((r) => r.id),
        tags: tag('vpce-s3'),
      },
      p,
    );

    this.endpointSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-endpoints-sg`,
      {
        vpcId: this.vpc.id,
        description: 'Interface VPC endpoints: HTTPS from the app instances only',
        tags: tag('endpoints-sg'),
      },
      p,
    );
    const endpointSubnets = appSubnets.slice(0, c.endpointAzs).map((s) => s.id);
    for (const svc of INTERFACE_ENDPOINTS) {
      new aws.ec2.VpcEndpoint(
        `${name}-${svc}`,
        {
          vpcId: this.vpc.id,
          serviceName: `com.amazonaws.${args.region}.${svc}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds: endpointSubnets,
          securityGroupIds: [this.endpointSecurityGroup.id],
          tags: tag(`vpce-${svc}`),
        },
        p,
      );
    }

    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.appSubnetIds = appSubnets.map((s) => s.id);
    this.dataSubnetIds = dataSubnets.map((s) => s.id);
    this.appRouteTableIds = appRts.map((r) => r.id);
    this.registerOutputs({ vpcId: this.vpc.id });
  }
}
